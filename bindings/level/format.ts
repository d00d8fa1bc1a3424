// The three formats the adapter takes and gives (abstract-level's private API speaks in
// formats: 'utf8' strings, 'buffer' Buffers, 'view' Uint8Arrays) and the bytes the Store
// holds. Input needs no format: a string is UTF-8 encoded and a Buffer is a Uint8Array.
import { Buffer } from 'buffer';

export type LevelFormat = 'utf8' | 'buffer' | 'view';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of an encoded key, value or range bound. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  return encoder.encode(typeof data === 'string' ? data : String(data));
}

/** Stored bytes in `format`. REQUIRES: `bytes` is the caller's own copy (a 'buffer' result
 *  shares its memory, as level-transcoder's view→buffer conversion does). */
export function fromBytes(bytes: Uint8Array, format: LevelFormat): string | Uint8Array {
  if (format === 'utf8') return decoder.decode(bytes);
  if (format === 'buffer') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return bytes;
}
