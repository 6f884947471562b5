// bbolt's file format (go.etcd.io/bbolt, the database under etcd's backend), written and read from
// its documentation: a streaming writer that builds a whole database in one pass over sorted
// buckets (after a sizing pass), and a reader that walks any bbolt file's buckets in key order.

export { BoltReader, BoltReadError, type BoltItem, type BucketRef, type BoltReaderOptions } from './reader.js';
export { BoltWriter, BoltWriteError, type BoltEntry, type BucketInput, type BoltWriterOptions } from './writer.js';
export { DEFAULT_PAGE_SIZE } from './format.js';
