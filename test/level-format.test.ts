// StrataLevel's batch key decoding (bindings/level/format.ts keysFromBytes): one TextDecoder
// call per batch when the keys are ASCII, key by key otherwise. Whatever the bytes (invalid
// UTF-8, sequences split across keys, empty keys), the result must be exactly what decoding
// each key alone gives, and every format other than 'utf8' is untouched.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { fromBytes, keysFromBytes } from '../bindings/level/format.js';

const one = (keys: Uint8Array[], format: 'utf8' | 'view' | 'buffer') => keys.map((k) => fromBytes(k, format));

describe('keysFromBytes', () => {
  it('decodes any batch exactly as key by key (fast-check: ASCII, UTF-8, invalid bytes, split sequences)', () => {
    const byte = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xff));
    const key = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 20 }),
      fc.array(byte, { maxLength: 20 }).map((b) => Uint8Array.from(b)),
      fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => new TextEncoder().encode(s)),
      fc.string({ unit: 'grapheme-ascii', maxLength: 16 }).map((s) => new TextEncoder().encode(s)),
    );
    fc.assert(fc.property(fc.array(key, { maxLength: 40 }), (keys) => {
      expect(keysFromBytes(keys, 'utf8')).toEqual(one(keys, 'utf8'));
    }), { numRuns: 2000 });
  });

  it('splits an ASCII batch into its keys; a lead byte at a key\'s end and its continuation in the next stay apart', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(keysFromBytes([enc('a'), enc(''), enc('bcd'), enc('k000000000000001')], 'utf8')).toEqual(['a', '', 'bcd', 'k000000000000001']);
    const split = [Uint8Array.of(0x61, 0xc3), Uint8Array.of(0xa9, 0x62)]; // 'a' + half of 'é', the other half + 'b'
    expect(keysFromBytes(split, 'utf8')).toEqual(['a\ufffd', '\ufffdb']);
    expect(keysFromBytes([enc('é'), enc('x')], 'utf8')).toEqual(['é', 'x']);
  });

  it('leaves view and buffer keys as fromBytes makes them', () => {
    const keys = [Uint8Array.of(1, 2), Uint8Array.of(3)];
    for (const format of ['view', 'buffer'] as const) expect(keysFromBytes(keys, format)).toEqual(one(keys, format));
  });
});
