// The window store's keys in its Store (docs/WINDOWS.md, "Layout"), byte by byte:
//
//   window key = segmentId (u64 BE) | escaped(key) | windowStart (u64 BE) [| seqnum (u32 BE)]
//   escaped(k) = k with every 0x00 byte written as 0x00 0x01, then the terminator 0x00 0x00
//   meta key   = 0xFF | name (ASCII)
//
// segmentId = floor(windowStart / segmentMs); the seqnum is there only with retainDuplicates.
// INVARIANTS:
// 1. escaped() is prefix-free: inside it a 0x00 is always followed by 0x01, so 0x00 0x00
//    occurs only at its end. So `segmentId | escaped(k)` starts exactly k's windows of that
//    segment, never those of a key that k is a prefix of ('ab' against 'ab\0' or 'abc').
// 2. escaped() keeps byte order: a < b iff escaped(a) < escaped(b) (at the first difference
//    a 0x00 becomes 0x00 0x01 and loses to any byte above 0x00 as before; a key that ends
//    there has 0x00 0x00, which loses to both). So a segment holds its windows in key order,
//    and a key's windows in time order, and a scan of one key's windows between two times is
//    one range with no filtering.
// 3. Window times are 0 to 2^53 - 1 (safe integers), so every window key starts with 0x00
//    and every meta key with 0xFF: retention's one deleteRange [segment 0, first live
//    segment) never reaches the meta keys.
// A length prefix (u16 | key) would keep prefix scans exact too, but would order a segment's
// keys by length first; escaping costs a byte per 0x00 in the key plus two.
import { MAX_KEY_BYTES } from '../key-range.js';
import { StrataError } from '../errors.js';

/** Segment ids and window times are below this (Number.MAX_SAFE_INTEGER + 1). */
const TIME_LIMIT = 2 ** 53;
const SEGMENT_BYTES = 8;
const TIME_BYTES = 8;
const SEQ_BYTES = 4;

/** The stream time, u64 BE: the largest window start (or advanceStreamTime) seen. */
export const META_STREAM_TIME = metaKey('stream-time');
/** The layout a store was created with (JSON: version, segmentMs, retainDuplicates). */
export const META_LAYOUT = metaKey('layout');
/** Every window key is below this (invariant 3). */
export const WINDOW_KEYS_END = new Uint8Array([0x01]);

function metaKey(name: string): Uint8Array {
  const out = new Uint8Array(1 + name.length);
  out[0] = 0xff;
  for (let i = 0; i < name.length; i++) out[1 + i] = name.charCodeAt(i);
  return out;
}

/** Writes `n` (0 to 2^53 - 1, or 2^53 for an exclusive end) as 8 bytes big-endian. */
function writeU64(out: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  out[at] = hi >>> 24; out[at + 1] = (hi >>> 16) & 0xff; out[at + 2] = (hi >>> 8) & 0xff; out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24; out[at + 5] = (lo >>> 16) & 0xff; out[at + 6] = (lo >>> 8) & 0xff; out[at + 7] = lo & 0xff;
}

function readU64(b: Uint8Array, at: number): number {
  const hi = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  const lo = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
  return hi * 2 ** 32 + lo;
}

export function encodeU64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64(out, 0, n);
  return out;
}

export function decodeU64(b: Uint8Array, what: string): number {
  if (b.length !== 8) throw corrupt(`${what} has ${b.length} bytes, not 8`);
  return readU64(b, 0);
}

/** The first key of segment `segment` (its exclusive end is segmentStart(segment + 1)). */
export function segmentStart(segment: number): Uint8Array {
  return encodeU64(segment);
}

/** The length of escaped(key): one more byte per 0x00, and the terminator. */
function escapedLength(key: Uint8Array): number {
  let n = key.length + 2;
  for (let i = key.indexOf(0); i >= 0; i = key.indexOf(0, i + 1)) n++;
  return n;
}

/**
 * `segmentId | escaped(key) | time [| seq]`: a window key, or (with `seq` undefined in a
 * layout with seqnums) a bound that sorts before every seqnum of that window. `time` may be
 * 2^53, the exclusive end after the last time. KEY_TOO_LARGE when it would pass the store's
 * limit.
 */
export function windowKey(segment: number, key: Uint8Array, time: number, seq?: number): Uint8Array {
  const esc = escapedLength(key);
  const n = SEGMENT_BYTES + esc + TIME_BYTES + (seq === undefined ? 0 : SEQ_BYTES);
  if (n > MAX_KEY_BYTES) {
    throw new StrataError('KEY_TOO_LARGE', `a window key of ${key.length} bytes takes ${n} bytes in the store, above ${MAX_KEY_BYTES}`);
  }
  const out = new Uint8Array(n);
  writeU64(out, 0, segment);
  let p = SEGMENT_BYTES;
  for (let i = 0; i < key.length; i++) {
    const b = key[i];
    out[p++] = b;
    if (b === 0) out[p++] = 1;
  }
  p += 2; // the terminator 0x00 0x00 (the array starts zeroed)
  writeU64(out, p, time);
  if (seq !== undefined) {
    p += TIME_BYTES;
    out[p] = seq >>> 24; out[p + 1] = (seq >>> 16) & 0xff; out[p + 2] = (seq >>> 8) & 0xff; out[p + 3] = seq & 0xff;
  }
  return out;
}

/** The window start of a window key, read from its tail without parsing the key. */
export function windowStartOf(b: Uint8Array, withSeq: boolean): number {
  return readU64(b, b.length - TIME_BYTES - (withSeq ? SEQ_BYTES : 0));
}

/** A window key taken apart. `key` may be a view of the stored bytes. */
export interface DecodedWindowKey { segment: number; key: Uint8Array; windowStart: number }

/** Parses a window key (CORRUPTION when it does not follow the layout). */
export function decodeWindowKey(b: Uint8Array, withSeq: boolean): DecodedWindowKey {
  const tail = TIME_BYTES + (withSeq ? SEQ_BYTES : 0);
  let end = b.indexOf(0, SEGMENT_BYTES);
  let zeros = 0;
  while (end >= 0 && b[end + 1] === 1) { zeros++; end = b.indexOf(0, end + 2); }
  if (end < 0 || b[end + 1] !== 0 || b.length !== end + 2 + tail) throw corrupt(`a window key of ${b.length} bytes does not follow the layout`);
  const segment = readU64(b, 0);
  const windowStart = readU64(b, end + 2);
  if (segment >= TIME_LIMIT || windowStart >= TIME_LIMIT) throw corrupt('a window key has a time above 2^53 - 1');
  let key: Uint8Array;
  if (zeros === 0) key = b.subarray(SEGMENT_BYTES, end);
  else {
    key = new Uint8Array(end - SEGMENT_BYTES - zeros);
    for (let i = SEGMENT_BYTES, o = 0; i < end; i++) {
      key[o++] = b[i];
      if (b[i] === 0) i++; // skip the 0x01 of the escape
    }
  }
  return { segment, key, windowStart };
}

function corrupt(message: string): StrataError {
  return new StrataError('CORRUPTION', `window store: ${message}`);
}
