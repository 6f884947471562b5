// `conclave snapshot status FILE [-w simple|table|json|fields]`: what etcdutl prints for a snapshot
// file — a CRC-32C (Castagnoli) over every top-level bucket's name, then each of its keys and
// values; the revision of the last key in `key`; the number of entries in all buckets; the
// database size (high-water mark × page size) — in etcdutl 3.5's four output formats.

import { Crc32c } from '../checksum/crc32c.js';
import { revKeyMain } from '../mvcc/revision.js';
import { BoltReader } from '../storage/bbolt/index.js';

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

export function snapshotStatus(file: string): SnapshotStatus {
  const r = BoltReader.open(file);
  try {
    const h = new Crc32c();
    const st: SnapshotStatus = { hash: 0, revision: 0, totalKey: 0, totalSize: r.size };
    for (const b of r.entries(r.root)) {
      const name = Buffer.from(b.key);
      if (!b.bucket) throw new Error(`cannot get hash of bucket ${name.toString()}`);
      h.update(name);
      const isKey = name.toString('latin1') === 'key';
      for (const e of r.entries(BoltReader.bucketRef(Buffer.from(b.value)))) {
        h.update(e.key);
        // A nested bucket is seen with no value, as bbolt's ForEach reports it.
        if (!e.bucket) h.update(e.value);
        if (isKey && e.key.length >= 8) st.revision = revKeyMain(e.key);
        st.totalKey++;
      }
    }
    st.hash = h.digest();
    return st;
  } finally {
    r.close();
  }
}

/** go-humanize's Bytes: SI units, one decimal below 10, Go's round-half-to-even on exact ties. */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const tenths = Math.floor((n / 1000 ** e) * 10 + 0.5);
  if (tenths < 100) return `${(tenths / 10).toFixed(1)} ${sizes[e]}`;
  const whole = Math.floor(tenths / 10);
  const rest = tenths % 10;
  return `${rest > 5 || (rest === 5 && whole % 2 === 1) ? whole + 1 : whole} ${sizes[e]}`;
}

export type StatusFormat = 'simple' | 'table' | 'json' | 'fields';

function boxTable(header: string[], row: string[]): string {
  const w = header.map((h, i) => Math.max(h.length, row[i]!.length) + 2);
  const line = (l: string, m: string, r: string) => `${l}${w.map((n) => '─'.repeat(n)).join(m)}${r}`;
  const center = (s: string, n: number) => {
    const gap = n - s.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  const right = (s: string, n: number) => `${' '.repeat(n - s.length - 1)}${s} `;
  return [
    line('┌', '┬', '┐'),
    `│${header.map((h, i) => center(h, w[i]!)).join('│')}│`,
    line('├', '┼', '┤'),
    `│${row.map((v, i) => right(v, w[i]!)).join('│')}│`,
    line('└', '┴', '┘'),
    '',
  ].join('\n');
}

/** The status as etcdutl prints it in `format` (with the trailing newline). */
export function formatStatus(s: SnapshotStatus, format: StatusFormat): string {
  const hash = s.hash.toString(16);
  switch (format) {
    case 'simple':
      return `${hash}, ${s.revision}, ${s.totalKey}, ${humanBytes(s.totalSize)}\n`;
    case 'json':
      return `${JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize })}\n`;
    case 'fields':
      return `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`;
    case 'table':
      return boxTable(
        ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'],
        [hash, String(s.revision), String(s.totalKey), humanBytes(s.totalSize)],
      );
  }
}
