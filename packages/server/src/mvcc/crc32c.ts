// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven with slicing-by-8, for HashKV.
// Same results as Go's crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)).

const POLY = 0x82f63b78;
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n]!;
  for (let t = 1; t < 8; t++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[t * 256 + n] = c;
  }
}

/** Continues a CRC-32C over `data`; start with 0. Returns an unsigned 32-bit value. */
export function crc32c(crc: number, data: Uint8Array): number {
  let c = ~crc;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      T[7 * 256 + (a & 0xff)]! ^
      T[6 * 256 + ((a >>> 8) & 0xff)]! ^
      T[5 * 256 + ((a >>> 16) & 0xff)]! ^
      T[4 * 256 + (a >>> 24)]! ^
      T[3 * 256 + data[i + 4]!]! ^
      T[2 * 256 + data[i + 5]!]! ^
      T[256 + data[i + 6]!]! ^
      T[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = T[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Incremental CRC-32C, like Go's hash.Hash32. */
export class Crc32c {
  private crc = 0;

  update(data: Uint8Array): this {
    this.crc = crc32c(this.crc, data);
    return this;
  }

  digest(): number {
    return this.crc;
  }
}
