// Level range options (gt / gte / lt / lte, and seek targets) as byte bounds for the Store's
// range({ gte, lt, lte }): which of gt and gte wins, bounds longer than any key, and the
// intersection a seek makes. Turning "> k" into ">= k's successor" is key-range.ts's, the
// one module that converts bounds for both the Store and this adapter.
//
// Bounds longer than any key are cut to their first MAX_KEY_BYTES bytes, with the
// inclusivity that leaves the set of keys they admit unchanged, so the Store never sees a
// bound it would refuse with KEY_TOO_LARGE.

import { MAX_KEY_BYTES, compareBytes, keyAfter } from '../key-range.js';

const EMPTY = new Uint8Array(0);

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
    : 'gt' in options ? keyAfter(toBytes(options.gt))
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
  return k.length > MAX_KEY_BYTES ? keyAfter(k.subarray(0, MAX_KEY_BYTES)) : k;
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
