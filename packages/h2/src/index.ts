// @conclave/h2 — HTTP/2 building blocks (RFC 9113 frames, RFC 7541 HPACK with Huffman coding, and
// the frame output side with its send window) shared by the server's gRPC transport and the client's
// own transport. Internal: not published; the server and client bundles include it.

export { HpackDecoder, HpackEncoder, HpackError } from './hpack.js';
export { huffmanDecode, huffmanDecodedMax, huffmanEncode } from './huffman-table.js';
export {
  PREFACE,
  FrameType,
  Flag,
  H2Error,
  Setting,
  DEFAULT_WINDOW,
  DEFAULT_MAX_FRAME,
  MAX_WINDOW,
  OutBuffer,
} from './frames.js';
export { H2Output, type SendingStream } from './output.js';
