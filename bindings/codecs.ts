// Codecs turn keys and values into bytes. The store orders keys by the unsigned byte order
// of their encoding, so the numeric codecs are big-endian (uint32) or big-endian with the
// sign bit flipped (int64): their byte order is numeric order.
import { invalid } from './errors.js';

export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

const bytes: Codec<Uint8Array> = {
  encode(value) {
    if (!(value instanceof Uint8Array)) throw invalid(`expected a Uint8Array, got ${describe(value)}`);
    return value;
  },
  decode: (b) => b,
};

const utf8: Codec<string> = {
  encode(value) {
    if (typeof value !== 'string') throw invalid(`expected a string, got ${describe(value)}`);
    return encoder.encode(value);
  },
  decode: (b) => decoder.decode(b),
};

const json: Codec<any> = {
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      throw invalid(`value cannot be encoded as JSON: ${(err as Error).message}`);
    }
    if (text === undefined) throw invalid(`value cannot be encoded as JSON: ${describe(value)}`);
    return encoder.encode(text);
  },
  decode: (b) => JSON.parse(decoder.decode(b)),
};

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

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value === 'bigint' ? `${value}n` : `${typeof value} ${String(value).slice(0, 40)}`;
}
