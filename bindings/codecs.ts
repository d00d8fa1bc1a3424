// Codecs turn keys and values into bytes. The store orders keys by the unsigned byte order
// of their encoding, so the numeric codecs are big-endian (uint32) or big-endian with the
// sign bit flipped (int64): their byte order is numeric order.
import { copyBytes } from './byte-pool.js';
import { invalid, messageOf, shown } from './errors.js';

export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/**
 * @internal A built-in codec's fast path. Store and its iterators use it instead of
 * encode/decode to write keys and values straight into linear memory and to decode them
 * from it, without the fresh Uint8Array of encode or the copy that decode needs.
 * INVARIANT: `encodable(v)` throws what `encode(v)` throws and otherwise stands for exactly
 * the bytes `encode(v)` returns (a string: its UTF-8 as TextEncoder writes it; a string it
 * returns is well-formed UTF-16, so that UTF-8 is lossless); `decodeFrom(u8, p, n)` equals
 * `decode(u8.slice(p, p + n))`.
 * test/fast-paths.test.ts checks both.
 */
export interface CodecFastPath<T> {
  /** Checks `value` as encode does and returns what to write: a string to write as UTF-8,
   *  or the encoded bytes themselves. */
  encodable(value: T): string | Uint8Array;
  /** decode(u8.slice(ptr, ptr + len)), without the copy when the result keeps no bytes. */
  decodeFrom(u8: Uint8Array, ptr: number, len: number): T;
}

/**
 * The fast paths of the built-in codecs, keyed by codec identity, so the codec objects stay
 * plain { encode, decode } and a wrapped or spread copy (which may replace encode) takes
 * the plain path.
 */
const fastPaths = new WeakMap<Codec<any>, { encode: Codec<any>['encode']; decode: Codec<any>['decode']; fast: CodecFastPath<any> }>();

/** @internal The fast path of `codec`, if it is a built-in codec whose functions are still its own. */
export function fastPathOf<T>(codec: Codec<T>): CodecFastPath<T> | undefined {
  const f = fastPaths.get(codec);
  return f !== undefined && f.encode === codec.encode && f.decode === codec.decode ? f.fast : undefined;
}

const encoder = new TextEncoder();
// ignoreBOM: a value or key may begin with U+FEFF, and by default a TextDecoder drops it.
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Strings up to this many UTF-16 units are written by a charCodeAt loop when ASCII: below
 *  it the loop beats TextEncoder.encodeInto, whose call and result object cost ~100 ns. */
const ASCII_LOOP_MAX = 32;

/**
 * @internal Writes the UTF-8 of `s` (as TextEncoder: lone surrogates become U+FFFD) at
 * `u8[offset]`, using at most `capacity` bytes. Returns the bytes written, or -1 when they
 * would not fit (then the bytes at offset are unspecified). 3 × s.length always fits.
 */
export function encodeUtf8Into(s: string, u8: Uint8Array, offset: number, capacity: number): number {
  const n = s.length;
  if (capacity > u8.length - offset) capacity = u8.length - offset;
  if (n > capacity) return -1; // every UTF-16 unit takes at least one byte
  if (n <= ASCII_LOOP_MAX) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      u8[offset + i] = c;
    }
    if (i === n) return n;
  }
  const r = encoder.encodeInto(s, u8.subarray(offset, offset + capacity));
  return r.read === n ? r.written : -1;
}

/** @internal The length of the UTF-8 that encodeUtf8Into (and TextEncoder) write for `s`. */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { bytes += 2; i++; }
    else bytes += 2; // BMP character or lone surrogate (U+FFFD): 3 bytes
  }
  return bytes;
}

/** Up to this many bytes a copy of a typed array lives on V8's heap (typed_array_max_size_in_heap),
 *  which is cheap; above it a copy allocates a backing store (~300 ns). */
const ON_HEAP_MAX = 64;

/** decoder.decode(u8.slice(p, p + n)) without the costly copy. Short input is still copied:
 *  Node's decoder reads a small on-heap array about 80 ns faster than a view over linear
 *  memory (measured on Node 20 in full scans), more than the copy costs. */
function decodeUtf8From(u8: Uint8Array, p: number, n: number): string {
  return decoder.decode(n <= ON_HEAP_MAX ? u8.slice(p, p + n) : u8.subarray(p, p + n));
}

/** @internal The UTF-8 bytes of `s`, as encodeUtf8Into writes them. */
export function utf8Bytes(s: string): Uint8Array { return encoder.encode(s); }

const bytes: Codec<Uint8Array> = {
  encode(value) {
    if (!(value instanceof Uint8Array)) throw invalid(`expected a Uint8Array, got ${describe(value)}`);
    return value;
  },
  decode: (b) => b,
};

/** Whether `s` has no lone surrogate. String.prototype.isWellFormed (ES2024: Node 20,
 *  current browsers) answers a one-byte string without reading it, so the ASCII path pays
 *  one builtin call; older engines fall back to a regex (in /u mode a pair is one code
 *  point, so \p{Cs} matches only a surrogate that is not part of one). */
const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/\p{Cs}/u.test(s);

/** A string utf8 can encode losslessly. A lone surrogate has no UTF-8: TextEncoder writes
 *  U+FFFD for it, so '\uD800' and '\uDFFF' would be one key and neither would read back. */
function checkString(value: unknown): string {
  if (typeof value !== 'string') throw invalid(`expected a string, got ${describe(value)}`);
  if (!isWellFormed(value)) throw invalid(`string has a lone surrogate at index ${loneSurrogateAt(value)}: it has no UTF-8 encoding`);
  return value;
}

function loneSurrogateAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { i++; continue; }
    return i;
  }
  return -1;
}

const utf8: Codec<string> = {
  encode: (value) => encoder.encode(checkString(value)),
  decode: (b) => decoder.decode(b),
};

function jsonText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw invalid(`value cannot be encoded as JSON: ${messageOf(err)}`); // a toJSON may throw anything
  }
  if (text === undefined) throw invalid(`value cannot be encoded as JSON: ${describe(value)}`);
  return text;
}

// JSON.stringify writes a lone surrogate as a \u escape (ES2019), so JSON text is always
// well-formed and json needs no surrogate check: such strings round-trip through json.
const json: Codec<any> = {
  encode: (value) => encoder.encode(jsonText(value)),
  decode: (b) => parseJson(decoder.decode(b)),
};

/** JSON.parse, whose SyntaxError for bytes that are not JSON text (a value another codec
 *  wrote) is INVALID_ARGUMENT, as uint32's and int64's wrong lengths are: a caller sees a
 *  StrataError, never the parser's error. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`stored bytes are not JSON text (${(err as Error).message})`);
  }
}

const uint32: Codec<number> = {
  encode(value) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw invalid(`expected an integer in [0, 2^32), got ${describe(value)}`);
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value, false);
    return out;
  },
  decode(b) {
    if (b.length !== 4) throw invalid(`uint32 needs 4 bytes, got ${b.length}`);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  },
};

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const SIGN = 1n << 63n;

const int64: Codec<bigint> = {
  encode(value) {
    if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) {
      throw invalid(`expected a bigint in [-2^63, 2^63), got ${describe(value)}`);
    }
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value) ^ SIGN, false);
    return out;
  },
  decode(b) {
    if (b.length !== 8) throw invalid(`int64 needs 8 bytes, got ${b.length}`);
    const u = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, false) ^ SIGN;
    return BigInt.asIntN(64, u);
  },
};

export const codecs = { bytes, utf8, json, uint32, int64 };

/** Registers a fast path for `codec`; `decodeFrom` defaults to decode over a view, which is
 *  right for every codec whose decode keeps nothing of its input. */
function register<T>(codec: Codec<T>, encodable: CodecFastPath<T>['encodable'],
                     decodeFrom: CodecFastPath<T>['decodeFrom'] = (u8, p, n) => codec.decode(u8.subarray(p, p + n))): void {
  fastPaths.set(codec, { encode: codec.encode, decode: codec.decode, fast: { encodable, decodeFrom } });
}
// bytes: the caller keeps the decoded array, so it must be a copy (pooled when small).
register(bytes, bytes.encode, copyBytes);
register(utf8, checkString, (u8, p, n) => decodeUtf8From(u8, p, n));
register(json, jsonText, (u8, p, n) => parseJson(decodeUtf8From(u8, p, n)));
register(uint32, uint32.encode);
register(int64, int64.encode);

/** `value` for a message; never throws (a Proxy's traps, a constructor getter or a
 *  function's toString are user code and may throw anything). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') {
    try { return shown(value.constructor?.name ?? 'object'); } catch { return 'object'; }
  }
  return typeof value === 'bigint' ? `${value}n` : `${typeof value} ${shown(value).slice(0, 40)}`;
}
