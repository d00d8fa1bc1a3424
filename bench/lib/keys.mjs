// Key generation shared by the suites. Key i of bench:peers, bench:disk, bench:browser,
// bench/scan.mjs and bench/write-ab.mjs is keyOf(i): hex8(fmix32(i ^ SEED_HI)) +
// hex8(fmix32(i + SEED_LO)), 16 lowercase hex characters. fmix32 is a bijection on 32 bits,
// so keys 0…2^32-1 are distinct, and keys i ≥ entries are the "missing" ones. Key order is
// unrelated to i, so writing i = 0, 1, 2, … is writing in random key order. Orders are
// seeded Fisher–Yates permutations, so every peer sees the same keys in the same order.
// (engine.bench.mjs and disk/large.mjs build their own keys on fmix32 and hex8.)

export const SEED_HI = 0x5eed1234;
export const SEED_LO = 0x0badcafe;

/** murmur3's 32-bit finalizer: a bijection on uint32. */
export function fmix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const hex8 = (n) => n.toString(16).padStart(8, '0');

/** Key i: 16 hex characters; distinct for distinct i. */
export function keyOf(i) {
  return hex8(fmix32((i ^ SEED_HI) >>> 0)) + hex8(fmix32((i + SEED_LO) >>> 0));
}

/** keyOf(from) … keyOf(from + n - 1), made before any timing starts. */
export function makeKeys(n, from = 0) {
  const keys = new Array(n);
  for (let i = 0; i < n; i++) keys[i] = keyOf(from + i);
  return keys;
}

/** mulberry32: a small seeded PRNG giving uint32s. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A seeded Fisher–Yates permutation of 0…n-1. */
export function permutation(n, rand) {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rand() % (i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}
