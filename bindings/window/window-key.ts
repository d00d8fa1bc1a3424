// The keys of a window or session store in its Store (docs/WINDOWS.md, "Layout"), byte by
// byte:
//
//   window key  = segmentId (u64 BE) | escaped(key) | windowStart (u64 BE) [| seqnum (u32 BE)]
//   session key = segmentId (u64 BE) | escaped(key) | end (u64 BE) | start (u64 BE)
//   escaped(k)  = k with every 0x00 byte written as 0x00 0x01, then the terminator 0x00 0x00
//   meta key    = 0xFF | name (ASCII)
//
// segmentId = floor(windowStart / segmentMs) (a session: floor(end / segmentMs)); the seqnum
// is there only with retainDuplicates. What follows escaped(key) is the key's tail, of a
// fixed length per store.
// INVARIANTS:
// 1. escaped() is prefix-free: inside it a 0x00 is always followed by 0x01, so 0x00 0x00
//    occurs only at its end. So `segmentId | escaped(k)` starts exactly k's windows of that
//    segment, never those of a key that k is a prefix of ('ab' against 'ab\0' or 'abc').
// 2. escaped() keeps byte order: a < b iff escaped(a) < escaped(b) (at the first difference
//    a 0x00 becomes 0x00 0x01 and loses to any byte above 0x00 as before; a key that ends
//    there has 0x00 0x00, which loses to both). So a segment holds its windows in key order,
//    and a key's windows in time order, and a scan of one key's windows between two times is
//    one range with no filtering.
// 3. Times are 0 to 2^53 - 1 (safe integers), so every window or session key starts with
//    0x00 and every meta key with 0xFF: retention's one deleteRange [segment 0, first live
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

/** The stream time, u64 BE: the largest window start or session end (or advanceStreamTime) seen. */
export const META_STREAM_TIME = metaKey('stream-time');
/** The layout a store was created with (JSON: version, kind, segmentMs, retainDuplicates). */
export const META_LAYOUT = metaKey('layout');

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

/** The tail of a window key, with and without a seqnum, and of a session key. */
export const WINDOW_TAIL = TIME_BYTES;
export const WINDOW_TAIL_SEQ = TIME_BYTES + SEQ_BYTES;
export const SESSION_TAIL = 2 * TIME_BYTES;

/** `segmentId | escaped(key)` and room for `tail` more bytes: the array, and where the tail
 *  goes. KEY_TOO_LARGE when it would pass the store's limit. */
function keyWithTail(segment: number, key: Uint8Array, tail: number): [Uint8Array, number] {
  const n = SEGMENT_BYTES + escapedLength(key) + tail;
  if (n > MAX_KEY_BYTES) {
    throw new StrataError('KEY_TOO_LARGE', `a key of ${key.length} bytes takes ${n} bytes in the store, above ${MAX_KEY_BYTES}`);
  }
  const out = new Uint8Array(n);
  writeU64(out, 0, segment);
  let p = SEGMENT_BYTES;
  for (let i = 0; i < key.length; i++) {
    const b = key[i];
    out[p++] = b;
    if (b === 0) out[p++] = 1;
  }
  return [out, p + 2]; // the terminator 0x00 0x00 (the array starts zeroed)
}

/**
 * `segmentId | escaped(key) | time [| seq]`: a window key, or (with `seq` undefined in a
 * layout with seqnums) a bound that sorts before every seqnum of that window. `time` may be
 * 2^53, the exclusive end after the last time.
 */
export function windowKey(segment: number, key: Uint8Array, time: number, seq?: number): Uint8Array {
  const [out, p] = keyWithTail(segment, key, seq === undefined ? WINDOW_TAIL : WINDOW_TAIL_SEQ);
  writeU64(out, p, time);
  if (seq !== undefined) {
    const q = p + TIME_BYTES;
    out[q] = seq >>> 24; out[q + 1] = (seq >>> 16) & 0xff; out[q + 2] = (seq >>> 8) & 0xff; out[q + 3] = seq & 0xff;
  }
  return out;
}

/** `segmentId | escaped(key) | end | start`: a session key; with `start` undefined, a bound
 *  before every session of that end (`end` may be 2^53, after every end). */
export function sessionKey(segment: number, key: Uint8Array, end: number, start?: number): Uint8Array {
  const [out, p] = keyWithTail(segment, key, start === undefined ? TIME_BYTES : SESSION_TAIL);
  writeU64(out, p, end);
  if (start !== undefined) writeU64(out, p + TIME_BYTES, start);
  return out;
}

/** The u64 of a key's tail at `at` (a time). */
export function timeAt(b: Uint8Array, at: number): number { return readU64(b, at); }

/** The window start of a window key, read from its tail without parsing the key. */
export function windowStartOf(b: Uint8Array, tail: number): number {
  return readU64(b, b.length - tail);
}

/** A key taken apart: its segment, the key (may be a view of the stored bytes), and where
 *  its tail starts. */
export interface DecodedKey { segment: number; key: Uint8Array; at: number }

/** Parses a window or session key with a tail of `tail` bytes (CORRUPTION when it does not
 *  follow the layout). */
export function decodeKey(b: Uint8Array, tail: number): DecodedKey {
  let end = b.indexOf(0, SEGMENT_BYTES);
  let zeros = 0;
  while (end >= 0 && b[end + 1] === 1) { zeros++; end = b.indexOf(0, end + 2); }
  if (end < 0 || b[end + 1] !== 0 || b.length !== end + 2 + tail) throw corrupt(`a key of ${b.length} bytes does not follow the layout`);
  const segment = readU64(b, 0);
  if (segment >= TIME_LIMIT || readU64(b, end + 2) >= TIME_LIMIT) throw corrupt('a key has a time above 2^53 - 1');
  let key: Uint8Array;
  if (zeros === 0) key = b.subarray(SEGMENT_BYTES, end);
  else {
    key = new Uint8Array(end - SEGMENT_BYTES - zeros);
    for (let i = SEGMENT_BYTES, o = 0; i < end; i++) {
      key[o++] = b[i];
      if (b[i] === 0) i++; // skip the 0x01 of the escape
    }
  }
  return { segment, key, at: end + 2 };
}

function corrupt(message: string): StrataError {
  return new StrataError('CORRUPTION', `window store: ${message}`);
}
