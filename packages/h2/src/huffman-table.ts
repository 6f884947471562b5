// The HPACK Huffman code (RFC 7541 Appendix B) and a table-driven decoder for it.
//
// The code is canonical: within one length, codes ascend with the symbol, and each length starts
// right after the last code of the shorter one. So the 257 code lengths are all the data needed;
// codes and the decoding state machine are rebuilt from them once, at module load.

/** Code length of each symbol 0..256 (256 = EOS), as the character code 48 + length ('5' = 5 .. 'N' = 30). */
const LENGTHS =
  '=GLLLLLLLHNLLNLLLLLLLLNLLLLLLLLL6::<=68;::8;8666555666666678?6<:' +
  '=67777777777777777777777878=C=>6?56565666577666567655677777?;>=L' +
  'DFDDFFFGFGGGGGHGHHFGHGGGGEFGFGGHFEDFFGGEGFFHEFGGEEFEGFGGDFFFGFFG' +
  'JJDCFGFIJJJKKJHICEJKKJKHEEJJLKKKDHDEFEEGFFIIHHJGJKJJKKKKKLKKKKKJ' +
  'N';

export const EOS = 256;
/** Bit length of each symbol's code. */
export const HUFFMAN_LENGTHS = new Uint8Array(257);
/** Each symbol's code, right-aligned (the longest, EOS, is 30 bits, so it fits a uint32). */
export const HUFFMAN_CODES = new Uint32Array(257);

{
  for (let s = 0; s < 257; s++) HUFFMAN_LENGTHS[s] = LENGTHS.charCodeAt(s) - 48;
  const order = Array.from({ length: 257 }, (_, s) => s).sort(
    (a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b,
  );
  let code = 0;
  let len = HUFFMAN_LENGTHS[order[0]!]!;
  for (const s of order) {
    const l = HUFFMAN_LENGTHS[s]!;
    code <<= l - len;
    len = l;
    HUFFMAN_CODES[s] = code++;
  }
}

// Decoding runs a state machine over 4-bit nibbles, like nghttp2: a state is an inner node of the
// code tree (256 of them for 257 leaves, the root being 0), and each (state, nibble) cell holds the
// state after those 4 bits, the symbol completed on the way if any (at most one: no code is shorter
// than 5 bits) and whether the string may end there.
const EMIT = 1 << 16;
/** The bits since the last symbol are all ones and at most 7 of them: valid padding (RFC 7541 5.2). */
const ACCEPT = 1 << 17;
/** EOS was decoded; RFC 7541 5.2 makes that an error. */
const FAIL = 1 << 18;
const DECODE = new Uint32Array(256 * 16);

{
  // The tree as child pairs: >= 0 an inner node, < 0 the leaf of symbol -(child + 1).
  const child = new Int16Array(2 * 256);
  const accepting = new Uint8Array(256);
  accepting[0] = 1;
  let nodes = 1;
  for (let s = 0; s < 257; s++) {
    const code = HUFFMAN_CODES[s]!;
    const len = HUFFMAN_LENGTHS[s]!;
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const bit = (code >>> i) & 1;
      let next = child[node * 2 + bit]!;
      if (next === 0) {
        next = nodes++;
        child[node * 2 + bit] = next;
        const depth = len - i;
        if (depth <= 7 && code >>> i === 2 ** depth - 1) accepting[next] = 1;
      }
      node = next;
    }
    child[node * 2 + (code & 1)] = -(s + 1);
  }
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let cell = 0;
      for (let i = 3; i >= 0; i--) {
        const c = child[node * 2 + ((nibble >>> i) & 1)]!;
        if (c >= 0) {
          node = c;
          continue;
        }
        const sym = -c - 1;
        if (sym === EOS) cell |= FAIL;
        else cell |= EMIT | (sym << 8);
        node = 0;
      }
      DECODE[state * 16 + nibble] = cell | node | (accepting[node] ? ACCEPT : 0);
    }
  }
}

/** Most octets `len` Huffman-coded octets can decode to (the shortest code is 5 bits). */
export function huffmanDecodedMax(len: number): number {
  return Math.floor((len * 8) / 5);
}

/**
 * Decodes src[start, end) into out (at least huffmanDecodedMax(end - start) long) and returns the
 * octet count, or -1 when the input contains EOS or ends in padding that is not up to 7 one bits.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let state = 0;
  let cell = ACCEPT;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    cell = DECODE[(state << 4) | (b >>> 4)]!;
    if (cell & EMIT) out[n++] = cell >>> 8;
    cell = DECODE[((cell & 0xff) << 4) | (b & 15)]! | (cell & FAIL);
    if (cell & EMIT) out[n++] = cell >>> 8;
    if (cell & FAIL) return -1;
    state = cell & 0xff;
  }
  return cell & ACCEPT ? n : -1;
}

/** Huffman-codes the octets of a latin1 string (the connection sends raw strings; this serves tests and tools). */
export function huffmanEncode(s: string): Buffer {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 0xff]!;
  const out = Buffer.allocUnsafe((bits + 7) >>> 3);
  let acc = 0; // fewer than 8 pending bits
  let pending = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const code = HUFFMAN_CODES[sym]!;
    let len = HUFFMAN_LENGTHS[sym]!;
    while (len > 0) {
      const take = Math.min(8 - pending, len);
      acc = (acc << take) | ((code >>> (len - take)) & ((1 << take) - 1));
      pending += take;
      len -= take;
      if (pending === 8) {
        out[o++] = acc;
        acc = 0;
        pending = 0;
      }
    }
  }
  // The padding is the most significant bits of EOS, i.e. all ones.
  if (pending > 0) out[o] = (acc << (8 - pending)) | ((1 << (8 - pending)) - 1);
  return out;
}
