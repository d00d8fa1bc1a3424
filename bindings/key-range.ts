// The key space and its ranges, in bytes: the one place where an inclusive or exclusive
// bound becomes the half-open [from, to) the engine's iterator takes (iter_open's lower
// bound is inclusive, its upper bound exclusive; engine/abi.ts ITER_LOWER, ITER_UPPER).
// The Store's range()/prefixScan() and the abstract-level adapter (level/range.ts) both
// convert through here.
//
// The conversions rest on two facts about the key space:
// - Keys are compared as unsigned bytes, and the empty key is the smallest.
// - No key is longer than MAX_KEY_BYTES. So the smallest key greater than a key `k` shorter
//   than that is `k + 0x00` (nothing sorts between them); greater than a key of
//   MAX_KEY_BYTES, it is `k` with its trailing 0xff bytes dropped and its last other byte
//   incremented (a shorter key), and there is none when `k` is all 0xff. `keyAfter` is that
//   successor: "> k" is ">= keyAfter(k)", "<= k" is "< keyAfter(k)".
// A prefix's keys are those from the prefix up to its byte successor (`prefixEnd`): the
// prefix with its trailing 0xff bytes dropped and the last other byte incremented, which
// every key starting with the prefix is below and every other key above the prefix is not.

/** The longest key a store takes (KEY_TOO_LARGE beyond); assembly/ checks the same limit. */
export const MAX_KEY_BYTES = 65535;

/** One end of a range: `key` itself in or out. `T` is the key as the caller holds it (bytes,
 *  or a form that halfOpen's `bytes` turns into bytes). */
export interface Bound<T = Uint8Array> { key: T; inclusive: boolean }

/** The range as the engine takes it: keys k with from <= k < to; `from` undefined: from the
 *  first key; `to` undefined: to the last. */
export interface HalfOpen<T = Uint8Array> { from: T | Uint8Array | undefined; to: T | Uint8Array | undefined }

/** Unsigned byte order, the store's key order. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * The smallest key greater than `k`, or undefined when no key is (k is MAX_KEY_BYTES of
 * 0xff). A `k` longer than any key is first cut to MAX_KEY_BYTES, which admits the same keys.
 */
export function keyAfter(k: Uint8Array): Uint8Array | undefined {
  if (k.length > MAX_KEY_BYTES) k = k.subarray(0, MAX_KEY_BYTES);
  if (k.length < MAX_KEY_BYTES) {
    const out = new Uint8Array(k.length + 1); // k + 0x00
    out.set(k);
    return out;
  }
  return prefixEnd(k);
}

/**
 * The smallest byte string above every string that starts with `prefix`, or undefined when
 * there is none (the prefix is empty or all 0xff: its keys run to the end of the key space).
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const end = prefix.slice(0, n);
  end[n - 1]++;
  return end;
}

/**
 * The range between `lower` and `upper` (undefined: open) as [from, to), or undefined when
 * no key can lie in it because the lower bound is above every key. A range whose from is
 * at or above its to is empty too; the engine's iterator yields nothing for it. A bound kept
 * as is (gte, lt) stays in the caller's form; `bytes` gives the bytes of one whose successor
 * is needed (gt, lte), so the common [gte, lt) costs no conversion.
 */
export function halfOpen<T = Uint8Array>(lower: Bound<T> | undefined, upper: Bound<T> | undefined,
                                         bytes: (key: T) => Uint8Array = (k) => k as unknown as Uint8Array): HalfOpen<T> | undefined {
  let from: T | Uint8Array | undefined;
  if (lower !== undefined) {
    from = lower.inclusive ? lower.key : keyAfter(bytes(lower.key));
    if (from === undefined) return undefined;
  }
  const to = upper === undefined ? undefined : upper.inclusive ? keyAfter(bytes(upper.key)) : upper.key;
  return { from, to };
}

/** A string that identifies a key's bytes, usable as a Map key (one char per byte, so string
 *  order is unsigned byte order). */
export function keyId(key: Uint8Array): string {
  if (key.length <= 4096) return String.fromCharCode.apply(null, key as unknown as number[]);
  let s = '';
  for (let i = 0; i < key.length; i += 4096) s += String.fromCharCode.apply(null, key.subarray(i, i + 4096) as unknown as number[]);
  return s;
}
