// Level range options (gt / gte / lt / lte, and seek targets) as the byte bounds the Store
// takes: [from, to) in unsigned byte order.
//
// The mapping rests on two facts about the key space:
// - The empty key is the smallest key, so "no lower bound" is `from = EMPTY`.
// - No stored key is longer than MAX_KEY_BYTES, so the successor of a key `k` shorter than
//   that is `k + 0x00` (nothing sorts between them), which turns "greater than k" into
//   "at least k + 0x00" and "at most k" into "below k + 0x00".
// The Store has no open-ended range, so "no upper bound" is "at most MAX_KEY", the largest
// key there can be (MAX_KEY_BYTES bytes of 0xff). A bound at MAX_KEY_BYTES has no 0x00
// successor that is a valid key, so "at most k" for such a k is [from, k) plus k itself,
// which the cursor looks up separately (`tail`). Bounds longer than any key are cut to
// their first MAX_KEY_BYTES bytes, which leaves the set of keys they admit unchanged.

import { MAX_KEY_BYTES } from 'strata-kv'; // the longest key a Store accepts (KEY_TOO_LARGE)

const EMPTY = new Uint8Array(0);
let maxKey: Uint8Array | undefined;

/** The largest key there can be: MAX_KEY_BYTES bytes of 0xff (made once, on first use). */
export function largestKey(): Uint8Array {
  return maxKey ??= new Uint8Array(MAX_KEY_BYTES).fill(0xff);
}

/**
 * The keys k with `lower <= k` and `k < upper.key` (or `k <= upper.key` when inclusive);
 * `upper` undefined: no upper bound. `lower` undefined: the range is empty (its lower bound
 * is above every key). INVARIANT: every bound is at most MAX_KEY_BYTES long.
 */
export interface ByteRange {
  lower: Uint8Array | undefined;
  upper: { key: Uint8Array; inclusive: boolean } | undefined;
}

/** The encoded range options of a Level call (abstract-level encodes gt/gte/lt/lte). */
export interface LevelRangeOptions {
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
}

/** `options`' range as a ByteRange. Like memory-level, gte wins over gt and lte over lt. */
export function byteRange(options: LevelRangeOptions, toBytes: (key: unknown) => Uint8Array): ByteRange {
  const lower = 'gte' in options ? atLeast(toBytes(options.gte))
    : 'gt' in options ? above(toBytes(options.gt))
    : EMPTY;
  const upper = 'lte' in options ? atMost(toBytes(options.lte))
    : 'lt' in options ? below(toBytes(options.lt))
    : undefined;
  return { lower, upper };
}

/**
 * Whether a seek target lies within `options`' range, compared with the bounds as given
 * (gte wins over gt and lte over lt, as in byteRange). A target outside it, on either side
 * and in either direction, ends the iterator (abstract-level: "if target does not fall
 * within that range, the iterator will reach its natural end"), as memory-level and
 * classic-level do; intersecting it with the range instead would restart the iterator.
 */
export function rangeHas(options: LevelRangeOptions, toBytes: (key: unknown) => Uint8Array): (target: Uint8Array) => boolean {
  const lower = 'gte' in options ? { key: toBytes(options.gte), inclusive: true }
    : 'gt' in options ? { key: toBytes(options.gt), inclusive: false }
    : undefined;
  const upper = 'lte' in options ? { key: toBytes(options.lte), inclusive: true }
    : 'lt' in options ? { key: toBytes(options.lt), inclusive: false }
    : undefined;
  return (t) => {
    if (lower !== undefined) {
      const c = compareBytes(t, lower.key);
      if (c < 0 || (c === 0 && !lower.inclusive)) return false;
    }
    if (upper !== undefined) {
      const c = compareBytes(t, upper.key);
      if (c > 0 || (c === 0 && !upper.inclusive)) return false;
    }
    return true;
  };
}

/** The lower bound of keys >= k. */
export function atLeast(k: Uint8Array): Uint8Array | undefined {
  // A key >= a longer-than-any-key k is a key > its prefix (the prefix itself is < k).
  return k.length > MAX_KEY_BYTES ? above(k.subarray(0, MAX_KEY_BYTES)) : k;
}

/** The lower bound of keys > k. */
export function above(k: Uint8Array): Uint8Array | undefined {
  if (k.length > MAX_KEY_BYTES) k = k.subarray(0, MAX_KEY_BYTES);
  if (k.length < MAX_KEY_BYTES) return withZero(k);
  // k is as long as a key can be: the next key is k with its trailing 0xff bytes dropped
  // and the last other byte incremented; none when k is all 0xff.
  let n = k.length;
  while (n > 0 && k[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const next = k.slice(0, n);
  next[n - 1]++;
  return next;
}

/** The upper bound of keys <= k. */
export function atMost(k: Uint8Array): { key: Uint8Array; inclusive: boolean } {
  return { key: k.length > MAX_KEY_BYTES ? k.subarray(0, MAX_KEY_BYTES) : k, inclusive: true };
}

/** The upper bound of keys < k. */
export function below(k: Uint8Array): { key: Uint8Array; inclusive: boolean } {
  // A key < a longer-than-any-key k is a key <= its prefix.
  return k.length > MAX_KEY_BYTES ? { key: k.subarray(0, MAX_KEY_BYTES), inclusive: true } : { key: k, inclusive: false };
}

/** The tighter of two lower bounds. */
export function maxLower(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array | undefined {
  if (a === undefined || b === undefined) return undefined;
  return compareBytes(a, b) >= 0 ? a : b;
}

/** The tighter of two upper bounds (undefined: none). */
export function minUpper(a: ByteRange['upper'], b: ByteRange['upper']): ByteRange['upper'] {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const c = compareBytes(a.key, b.key);
  if (c !== 0) return c < 0 ? a : b;
  return a.inclusive ? b : a;
}

/**
 * The Store call for a range: `[from, to)` (both undefined: every key) and, when the upper
 * bound is an inclusive key of MAX_KEY_BYTES, that key as `tail` (it is outside [from, to)
 * and comes last in key order). Undefined when the range is empty.
 */
export function storeBounds(r: ByteRange): { from: Uint8Array; to: Uint8Array | undefined; tail: Uint8Array | undefined } | undefined {
  const from = r.lower;
  if (from === undefined) return undefined;
  const upper = r.upper;
  if (upper === undefined) {
    if (from.length === 0) return { from, to: undefined, tail: undefined };
    const max = largestKey();
    return { from, to: max, tail: compareBytes(from, max) <= 0 ? max : undefined };
  }
  if (!upper.inclusive) return { from, to: upper.key, tail: undefined };
  if (upper.key.length < MAX_KEY_BYTES) return { from, to: withZero(upper.key), tail: undefined };
  return { from, to: upper.key, tail: compareBytes(from, upper.key) <= 0 ? upper.key : undefined };
}

/** Unsigned byte order, the Store's key order. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** k + 0x00: the smallest key greater than k. */
function withZero(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(k.length + 1);
  out.set(k);
  return out;
}
