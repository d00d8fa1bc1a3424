// A Store call's arguments on their way to the engine: keys and values encoded by their
// codecs and checked (INVALID_ARGUMENT, KEY_TOO_LARGE, VALUE_TOO_LARGE) before anything is
// written, sized, then written into the engine's argument region; and the checks of the
// other arguments (iterables, versions, range options). Nothing here calls the engine.
import { encodeUtf8Into, utf8Length, utf8Bytes, type Codec, type CodecFastPath } from '../codecs.js';
import { StrataError, invalid, shown, messageOf } from '../errors.js';

export const KIND_DELETE = 0;
export const KIND_PUT = 1;
/** A batch image's range deletion: key = from, value = to (docs/ABI.md). */
export const KIND_DELETE_RANGE = 3;
/** A merge operand (docs/ABI.md): value = nameLength u8 | name | operand (merge-operators.ts). */
export const KIND_MERGE = 4;
export const EMPTY = new Uint8Array(0);

/**
 * The engine's smallest argument region (assembly/index.ts io_reserve). Reserving up to
 * this many bytes allocates nothing an exact reservation would not, so sizes up to it may
 * be upper bounds (3 bytes per UTF-16 unit); above it they are exact, as the memory cap
 * must see the same reservations whatever path encoded the arguments.
 */
export const FAST_REGION = 65536;

/** A key or value checked and ready to be written into the argument region: a string from
 *  a built-in codec's fast path (written as its UTF-8, at most FAST_REGION / 3 units long)
 *  or the encoded bytes. */
export type Encodable = string | Uint8Array;

/** An operation encoded and checked, ready for the engine. */
export interface EncodedOp {
  kind: number;
  key: Encodable;
  value: Encodable;
  /** A merge operand's operator (nameLength | name), stored before its value. */
  operator?: Uint8Array;
}

export function encodeWith<T>(codec: Codec<T>, value: T, what: string): Uint8Array {
  let out: unknown;
  try {
    out = codec.encode(value);
  } catch (err) {
    throw encodeFailure(err, what);
  }
  if (!(out instanceof Uint8Array)) throw invalid(`${what} codec must return a Uint8Array`);
  return out;
}

/** encodeWith for a built-in codec's fast path (codecs.ts), which returns a string or bytes. */
export function encodableWith<T>(fast: CodecFastPath<T>, value: T, what: string): Encodable {
  try {
    return fast.encodable(value);
  } catch (err) {
    throw encodeFailure(err, what);
  }
}

export function encodeFailure(err: unknown, what: string): StrataError {
  if (err instanceof StrataError) return err;
  return new StrataError('INVALID_ARGUMENT', `${what} cannot be encoded: ${messageOf(err)}`, { cause: err });
}

/** At least the bytes `x` is written as; exactly, for bytes. */
export function byteBound(x: Encodable): number { return typeof x === 'string' ? x.length * 3 : x.length; }

/** The bytes `x` is written as. */
export function byteLength(x: Encodable): number { return typeof x === 'string' ? utf8Length(x) : x.length; }

/** Writes `x` at u8[p] within `capacity` bytes (reserved by the caller); returns its length. */
export function writeEncodable(x: Encodable, u8: Uint8Array, p: number, capacity: number): number {
  if (typeof x !== 'string') { if (x.length !== 0) u8.set(x, p); return x.length; }
  const n = encodeUtf8Into(x, u8, p, capacity);
  if (n < 0) throw new Error(`strata-kv: argument region of ${capacity} bytes too small (bug)`);
  return n;
}

/** A copy of the bytes `x` stands for, for change records the caller may keep. */
export function bytesOf(x: Encodable): Uint8Array { return typeof x === 'string' ? utf8Bytes(x) : x.slice(); }

export function iterate<T>(items: Iterable<T>, what: string): Iterable<T> {
  if (items === null || items === undefined || typeof (items as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw invalid(`${what} expects an iterable`);
  }
  return items;
}

export function checkVersion(expected: number): void {
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
    throw invalid(`expected version must be a non-negative safe integer, got ${shown(expected)}`);
  }
}

export interface RangeOptions { reverse?: boolean; limit?: number }

export function checkRangeOptions(options: RangeOptions | undefined): { reverse: boolean; limit: number } {
  if (options === undefined) return { reverse: false, limit: Infinity };
  if (options === null || typeof options !== 'object') throw invalid('range options must be an object');
  const reverse = options.reverse ?? false;
  if (typeof reverse !== 'boolean') throw invalid('reverse must be a boolean');
  const limit = options.limit ?? Infinity;
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0 || (limit !== Infinity && !Number.isInteger(limit))) {
    throw invalid(`limit must be a non-negative integer, got ${shown(limit)}`);
  }
  return { reverse, limit };
}

/**
 * range()'s bounds form: at most one lower bound (gt: above, gte: at or above) and one upper
 * bound (lt: below, lte: at or below); an absent or undefined bound leaves that end open.
 */
export interface RangeBounds<K> extends RangeOptions { gt?: K; gte?: K; lt?: K; lte?: K }

/** A bound's key, not yet encoded. */
export interface KeyBound<K> { key: K; inclusive: boolean }

const BOUND_NAMES = new Set(['gt', 'gte', 'lt', 'lte', 'reverse', 'limit']);

/**
 * range(bounds)'s argument checked: a plain object (so a lone key, bytes or an array is not
 * taken for one) with only the names of RangeBounds, at most one of gt/gte and of lt/lte.
 */
export function checkBounds<K>(bounds: unknown): { lower: KeyBound<K> | undefined; upper: KeyBound<K> | undefined; options: RangeOptions } {
  const proto = bounds !== null && typeof bounds === 'object' ? Object.getPrototypeOf(bounds) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw invalid('range expects (from, to, options?) or one bounds object { gt?, gte?, lt?, lte?, reverse?, limit? }');
  }
  const b = bounds as RangeBounds<K>;
  for (const name of Object.keys(b)) {
    if (!BOUND_NAMES.has(name)) {
      throw invalid(`range bounds take gt, gte, lt, lte, reverse and limit, not ${JSON.stringify(name)} (for a range between two keys, call range(from, to))`);
    }
  }
  if (b.gt !== undefined && b.gte !== undefined) throw invalid('range bounds: give gt or gte, not both');
  if (b.lt !== undefined && b.lte !== undefined) throw invalid('range bounds: give lt or lte, not both');
  const lower = b.gte !== undefined ? { key: b.gte, inclusive: true } : b.gt !== undefined ? { key: b.gt, inclusive: false } : undefined;
  const upper = b.lte !== undefined ? { key: b.lte, inclusive: true } : b.lt !== undefined ? { key: b.lt, inclusive: false } : undefined;
  return { lower, upper, options: { reverse: b.reverse, limit: b.limit } };
}

export function sameBytes(u8: Uint8Array, p: number, len: number, b: Uint8Array): boolean {
  if (len !== b.length) return false;
  for (let i = 0; i < len; i++) if (u8[p + i] !== b[i]) return false;
  return true;
}
