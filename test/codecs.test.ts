// Codecs: every codec round-trips, and the numeric ones sort by the unsigned byte order of
// their encoding exactly as their values sort (the store orders keys by those bytes).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { codecs, StrataError } from 'strata-kv';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
const sign = (x: number) => Math.sign(x);

describe('codecs', () => {
  it('int64 is order-preserving over the whole range', () => {
    const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
    fc.assert(fc.property(int64, int64, (a, b) => {
      expect(codecs.int64.decode(codecs.int64.encode(a))).toBe(a);
      expect(sign(compareBytes(codecs.int64.encode(a), codecs.int64.encode(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
    }), { numRuns: 2000 });
  });

  it('uint32 is order-preserving', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (a, b) => {
      expect(codecs.uint32.decode(codecs.uint32.encode(a))).toBe(a);
      expect(sign(compareBytes(codecs.uint32.encode(a), codecs.uint32.encode(b)))).toBe(sign(a - b));
    }), { numRuns: 2000 });
  });

  it('utf8 and json round-trip; bytes passes through', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => { expect(codecs.utf8.decode(codecs.utf8.encode(s))).toBe(s); }));
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      expect(codecs.json.decode(codecs.json.encode(v))).toEqual(JSON.parse(JSON.stringify(v)));
    }));
    const b = new Uint8Array([1, 2, 3]);
    expect(codecs.bytes.decode(codecs.bytes.encode(b))).toEqual(b);
  });

  it('rejects values outside a codec\'s domain with INVALID_ARGUMENT', () => {
    const bad: [() => unknown][] = [
      [() => codecs.uint32.encode(-1)], [() => codecs.uint32.encode(2 ** 32)], [() => codecs.uint32.encode(1.5)],
      [() => codecs.int64.encode(1n << 63n)], [() => codecs.int64.encode(3 as never)],
      [() => codecs.utf8.encode(5 as never)], [() => codecs.bytes.encode('x' as never)],
      [() => codecs.json.encode(undefined)], [() => codecs.uint32.decode(new Uint8Array(3))],
    ];
    for (const [fn] of bad) {
      expect(fn).toThrow(StrataError);
      try { fn(); } catch (e) { expect((e as StrataError).code).toBe('INVALID_ARGUMENT'); }
    }
  });
});
