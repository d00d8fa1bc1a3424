// The three formats the adapter takes and gives (abstract-level's private API speaks in
// formats: 'utf8' strings, 'buffer' Buffers, 'view' Uint8Arrays) and the bytes the Store
// holds. Input needs no format: a string is UTF-8 encoded and a Buffer is a Uint8Array.
import { Buffer } from 'buffer';

export type LevelFormat = 'utf8' | 'buffer' | 'view';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // a leading U+FEFF is data, not a mark

/** The bytes of an encoded key, value or range bound. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  return encoder.encode(typeof data === 'string' ? data : String(data));
}

/** A character outside ASCII. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * fromBytes of each key of a batch. For 'utf8' the batch is decoded with one TextDecoder
 * call and, when it is all ASCII (one char per byte), cut into substrings: a call costs more
 * than a short key's bytes, 4.6× more in Chromium than in Node (docs/PERFORMANCE.md, "Why
 * strata-kv's scan was 0.24× memory-level"); the Store's iterator does the same for utf8
 * keys. Anything else decodes key by key, so the result is exactly fromBytes's. Keys only:
 * for 100-byte values the copy and the check cost Node more than the calls they save, and a
 * kept substring holds its whole batch's string.
 */
export function keysFromBytes(keys: Uint8Array[], format: LevelFormat): (string | Uint8Array)[] {
  if (format !== 'utf8' || keys.length < 2) return keys.map((b) => fromBytes(b, format));
  let total = 0;
  for (const k of keys) total += k.length;
  const joined = new Uint8Array(total);
  let at = 0;
  for (const k of keys) {
    joined.set(k, at);
    at += k.length;
  }
  const text = decoder.decode(joined);
  if (text.length !== total || NON_ASCII.test(text)) return keys.map((k) => decoder.decode(k));
  const out: string[] = new Array(keys.length);
  at = 0;
  for (let i = 0; i < keys.length; i++) {
    out[i] = text.slice(at, at + keys[i].length);
    at += keys[i].length;
  }
  return out;
}

/** Stored bytes in `format`. REQUIRES: `bytes` is the caller's own copy (a 'buffer' result
 *  shares its memory, as level-transcoder's view→buffer conversion does). */
export function fromBytes(bytes: Uint8Array, format: LevelFormat): string | Uint8Array {
  if (format === 'utf8') return decoder.decode(bytes);
  if (format === 'buffer') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return bytes;
}
