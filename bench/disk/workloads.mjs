// The on-disk data set of bench:disk, the same for every peer (bench/adapters/, each opened
// with open({ dir }); common.mjs has the contract).
//
// Keys: the keys of bench/peers (lib/keys.mjs: 16 lowercase hex characters, 16 bytes in utf8, key
// i unrelated to its order, so writing i = 0, 1, 2, … writes in random key order; keys
// i ≥ entries are the missing ones). Values: 100 bytes made at write time, bytes 0-3 the
// entry's index (u32 LE) and bytes 4-99 pseudo-random (xorshift seeded by the index), so
// they do not compress: LevelDB's snappy gains nothing, and a zero-filled value would have
// flattered its file sizes and block cache. A read's check sums the indices read back, so a
// peer that answered with the wrong value would not match the others.
// A scan's check is `${n}/${sum}` with sum over indexOf(value), as the gets'.
import { makeKeys, permutation, prng } from '../lib/keys.mjs';

export const BATCH = 1000;
export const VALUE_BYTES = 100;
export const SEED_ORDER = 20240611;
/** Gets timed as "cold": the first ones after the reopen, in a process that has read nothing. */
export const COLD_GETS = 10_000;

/** Single puts of the durable-put phase (--sync-puts), each acknowledged durable. */
export const SYNC_PUTS = 5000;
/** The large-value phase (--large-mb): values of LARGE_VALUE_BYTES, putAll batches of
 *  LARGE_BATCH (~400 KB a batch), then LARGE_GETS random gets, each value compared. */
export const LARGE_VALUE_BYTES = 4000;
export const LARGE_BATCH = 100;
export const LARGE_MB = 400;
export const LARGE_GETS = 5000;

/** A fresh value of `bytes` (a multiple of 4; default 100) for entry i: its index, then
 *  pseudo-random bytes (xorshift seeded by i), so the value does not compress. */
export function makeValue(i, bytes = VALUE_BYTES) {
  const v = new Uint8Array(bytes);
  const w = new Uint32Array(v.buffer);
  let x = (Math.imul(i, 0x9e3779b1) + 0x7f4a7c15) | 0 || 1;
  w[0] = i;
  for (let j = 1; j < bytes / 4; j++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    w[j] = x;
  }
  return v;
}

/** The index a value carries (bytes 0-3). */
export const indexOf = (v) => (v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0;

/** Everything the reads use, made before any timing starts. */
export function makeReadData(entries) {
  const rand = prng(SEED_ORDER);
  return {
    entries,
    keys: makeKeys(entries),
    missing: makeKeys(entries, entries),
    firstOrder: permutation(entries, rand),  // the first pass after the reopen (cold, then filling)
    warmOrder: permutation(entries, rand),   // the second pass (warm)
  };
}

/** Writes keys[0…n) with makeValue in atomic batches of BATCH. */
export async function fillBatched(h, keys) {
  for (let b = 0; b < keys.length; b += BATCH) {
    const end = Math.min(b + BATCH, keys.length);
    const chunk = new Array(end - b);
    for (let i = b; i < end; i++) chunk[i - b] = [keys[i], makeValue(i)];
    if (h.asyncWrites) await h.putAll(chunk); else h.putAll(chunk);
  }
}

/** Writes keys[0…n) with makeValue one put at a time. */
export function fillSingle(h, keys) {
  for (let i = 0; i < keys.length; i++) h.put(keys[i], makeValue(i));
}

/** Gets keys[order[from…to)]; returns the sum of the indices read back (a check). */
export function getRange(h, keys, order, from, to) {
  let sum = 0;
  for (let i = from; i < to; i++) {
    const v = h.get(keys[order[i]]);
    if (v !== undefined) sum += indexOf(v);
  }
  return sum;
}
