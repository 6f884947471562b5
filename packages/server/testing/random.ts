// A seeded PRNG for randomized tests (mulberry32): the same seed gives the same sequence, so a
// failing case can be replayed from the seed it prints.

/** Uniform numbers in [0, 1) from a 32-bit state seeded with `seed` (taken modulo 2^32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
