// The in-memory data set of bench:peers, also read by bench:browser, bench/scan.mjs and
// bench/write-ab.mjs: `entries` keys, keyOf(0…entries-1) of keys.mjs (16-character hex
// strings in random key order; keys i ≥ entries are the "missing" ones), 100-byte values
// made at write time, and the seeded orders the reads walk.
import { makeKeys, permutation, prng } from './keys.mjs';

export const SEED_ORDER = 20240611;
export const BATCH = 1000;
export const SEEKS = 10_000;
export const SEEK_LENGTH = 100;
export const VALUE_BYTES = 100;

/** A fresh 100-byte value for key i (allocated on every call: "made at write time"). */
export function makeValue(i, salt = 0) {
  const v = new Uint8Array(VALUE_BYTES);
  v[0] = i; v[1] = i >>> 8; v[2] = i >>> 16; v[3] = salt;
  v[VALUE_BYTES - 1] = 0xa5;
  return v;
}

/** Everything the workloads read, made before any timing starts. */
export function makeData(entries) {
  const rand = prng(SEED_ORDER);
  const keys = makeKeys(entries);
  const missing = makeKeys(entries, entries);
  const getOrder = permutation(entries, rand);
  const seekKeys = new Array(SEEKS);
  for (let i = 0; i < SEEKS; i++) seekKeys[i] = keys[rand() % entries];
  // Mix: op i reads (even code) or overwrites (odd code) key mixKey[i].
  const mixKey = new Int32Array(entries);
  const mixPut = new Uint8Array(entries);
  for (let i = 0; i < entries; i++) { mixKey[i] = rand() % entries; mixPut[i] = rand() & 1; }
  return { entries, keys, missing, getOrder, seekKeys, mixKey, mixPut };
}
