// Codecs: every codec round-trips, and the numeric ones sort by the unsigned byte order of
// their encoding exactly as their values sort (the store orders keys by those bytes).
// utf8 refuses a string with a lone surrogate (it has no UTF-8), on its own and in a store
// (the fast path), and a refused call leaves the store as it was.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { codecs, Store, StrataError } from 'strata-kv';

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

  it('json: stored bytes that are not JSON (another codec wrote them) are INVALID_ARGUMENT wherever they are read, as uint32\'s wrong lengths are', async () => {
    // Found by the hunt: json's decode let JSON.parse's SyntaxError through, on its own and
    // in every store read (get, getAll, scans, getVersioned), where uint32 and int64 threw
    // INVALID_ARGUMENT for bytes of the wrong length.
    const text = (s: string) => new TextEncoder().encode(s);
    const codeOf = (fn: () => unknown) => { try { fn(); return 'none'; } catch (e) { return e instanceof StrataError ? e.code : String(e); } };
    expect(codeOf(() => codecs.json.decode(text('not json')))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => codecs.json.decode(new Uint8Array(0)))).toBe('INVALID_ARGUMENT');
    const s = await Store.open<Uint8Array, unknown>({ valueCodec: codecs.json });
    await s.restore([{ partition: 0, seq: 1, key: text('a'), value: text('not json') }, { partition: 0, seq: 2, key: text('b'), value: text('{"ok":1}') }]);
    expect(codeOf(() => s.get(text('a')))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.getVersioned(text('a')))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.getAll([text('b'), text('a')]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => [...s.all()])).toBe('INVALID_ARGUMENT');
    expect(s.get(text('b'))).toEqual({ ok: 1 });
    await s.close();
    const k = await Store.open<unknown, Uint8Array>({ keyCodec: codecs.json });
    await k.restore([{ partition: 0, seq: 1, key: text('{'), value: text('v') }]);
    expect(codeOf(() => [...k.all()])).toBe('INVALID_ARGUMENT');
    await k.close();
  });

  it('json: a value whose toJSON throws anything is INVALID_ARGUMENT, in encode and in a put', async () => {
    // Found in review: jsonText described JSON.stringify's error with (err as Error).message,
    // so a toJSON (user code) that threw null or undefined, or an error whose message has no
    // usable toString, made the description throw a TypeError (the hunt's messageOf, errors.ts,
    // fixed the same in listeners, sinks, codecs and operators, not here).
    const thrown: unknown[] = [null, undefined, { message: Object.create(null) }, Object.create(null), new Error('no')];
    const codeOf = (fn: () => unknown) => { try { fn(); return 'none'; } catch (e) { return e instanceof StrataError ? e.code : String(e); } };
    const s = await Store.open<string, unknown>({ keyCodec: codecs.utf8, valueCodec: codecs.json });
    for (const t of thrown) {
      const value = { toJSON() { throw t; } };
      expect(codeOf(() => codecs.json.encode(value))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.put('k', value))).toBe('INVALID_ARGUMENT');
    }
    expect(s.get('k')).toBeUndefined();
    await s.close();
    // And describing a value no codec takes: a function whose toString throws, a Proxy whose
    // every trap throws (describe read its constructor, or String() of it).
    const fn = Object.assign(() => 1, { toString() { throw 7; } });
    const proxy = new Proxy({}, { get() { throw 8; } });
    for (const [name, codec] of Object.entries(codecs)) {
      for (const v of [fn, proxy]) expect(`${name} ${codeOf(() => (codec.encode as (x: unknown) => unknown)(v))}`).toBe(`${name} INVALID_ARGUMENT`);
    }
  });

  it('json writes NaN and ±Infinity as null, as JSON.stringify does (documented in API.md)', () => {
    expect(codecs.json.decode(codecs.json.encode([NaN, Infinity, -Infinity, 1]))).toEqual([null, null, null, 1]);
    expect(codecs.json.decode(codecs.json.encode({ a: NaN }))).toEqual({ a: null });
  });
});

// ---- lone surrogates ----------------------------------------------------------------------

/** Well-formed strings: whole code points (astral ones as surrogate pairs), never a lone half. */
const wellFormed = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ maxLength: 40 }),
);
/** A string with at least one lone surrogate: a half put between well-formed strings stays
 *  lone (a well-formed string neither ends in a high half nor starts with a low one). */
const withLoneSurrogate = fc.tuple(wellFormed, fc.integer({ min: 0xd800, max: 0xdfff }), wellFormed,
  fc.boolean(), fc.integer({ min: 0xd800, max: 0xdbff }))
  .map(([a, half, b, twoHighs, high]) => a + String.fromCharCode(half) + (twoHighs ? String.fromCharCode(high) : '') + b);

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'ok';
}

/** Every entry with its stored bytes, and the sequence: what a refused call must not change. */
async function state(s: Store<string, string>): Promise<unknown> {
  return { seq: s.stats().sequence, entries: [...s.all()] };
}

describe('utf8 and lone surrogates', () => {
  it('the two halves of a surrogate pair, alone, are refused rather than both read back as U+FFFD', () => {
    for (const s of ['\ud800', '\udfff', 'a\ud83d', '\ude00b', '\ude00\ud83d']) {
      expect(codeOf(() => codecs.utf8.encode(s))).toBe('INVALID_ARGUMENT');
    }
    expect(codecs.utf8.decode(codecs.utf8.encode('\ud83d\ude00'))).toBe('😀');
    expect(() => codecs.utf8.encode('x\udc00')).toThrow(/lone surrogate at index 1/);
  });

  it('any well-formed string round-trips; any with a lone surrogate is INVALID_ARGUMENT', () => {
    fc.assert(fc.property(wellFormed, (s) => { expect(codecs.utf8.decode(codecs.utf8.encode(s))).toBe(s); }), { numRuns: 2000 });
    fc.assert(fc.property(withLoneSurrogate, (s) => { expect(codeOf(() => codecs.utf8.encode(s))).toBe('INVALID_ARGUMENT'); }), { numRuns: 2000 });
  });

  it('json keeps lone surrogates (JSON.stringify escapes them)', () => {
    fc.assert(fc.property(withLoneSurrogate, (s) => { expect(codecs.json.decode(codecs.json.encode(s))).toBe(s); }));
  });

  /** The store property below, with fast-check's parameters (a replay's seed and path). */
  async function storeRoundTrip(params: fc.Parameters<unknown>): Promise<void> {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    try {
      await fc.assert(fc.asyncProperty(
        fc.array(fc.tuple(wellFormed, wellFormed), { maxLength: 8 }), withLoneSurrogate, wellFormed,
        fc.array(fc.tuple(wellFormed, wellFormed), { maxLength: 3 }),
        async (good, bad, other, batch) => {
          for (const [k, v] of good) {
            s.put(k, v);
            expect(s.get(k)).toBe(v);
          }
          const stored = new Map<string, string>([...s.all()]);
          for (const [k, v] of new Map(good)) expect(stored.get(k)).toBe(v);
          // Keys come back exactly, in UTF-8 byte order.
          const keys = [...stored.keys()];
          const enc = (k: string) => Buffer.from(new TextEncoder().encode(k));
          for (let i = 1; i < keys.length; i++) expect(Buffer.compare(enc(keys[i - 1]), enc(keys[i]))).toBe(-1);

          const before = await state(s);
          expect(codeOf(() => s.put(bad, other))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.put(other, bad))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.putAll([...batch, [bad, other]]))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.putAll([...batch, [other, bad]]))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.write([...batch.map(([key, value]) => ({ type: 'put' as const, key, value })), { type: 'del', key: bad }]))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.delete(bad))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.get(bad))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.has(bad))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.getAll([other, bad]))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.range(bad, other))).toBe('INVALID_ARGUMENT');
          expect(codeOf(() => s.range(other, bad))).toBe('INVALID_ARGUMENT');
          expect(await state(s)).toEqual(before);
        }), params as fc.Parameters<[[string, string][], string, string, [string, string][]]>);
    } finally {
      await s.close();
    }
  }
  it('a store on utf8 keys and values (the fast path): well-formed strings round-trip, lone surrogates are refused and change nothing', async () => {
    await storeRoundTrip({ numRuns: 150 });
  });
  // Found by the property above in CI (unseeded): the value "\ufeff" read back as "". A
  // TextDecoder drops a leading U+FEFF (a byte order mark) unless told ignoreBOM.
  it('replay: a value that is a lone U+FEFF (seed -1933022414)', async () => {
    await storeRoundTrip({ seed: -1933022414, path: '145:1:1:18:18:18:18:18:18:18:18', endOnFailure: true });
  });
  it('a leading U+FEFF is kept in keys and values: get, getAll, scans, the codec alone', async () => {
    const bom = ['\ufeff', '\ufeffa', 'a\ufeff', '\ufeff\ufeff', '\ufeff'.repeat(40)];
    for (const t of bom) expect(codecs.utf8.decode(codecs.utf8.encode(t))).toBe(t);
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    for (const t of bom) s.put(t, t);
    for (const t of bom) expect(s.get(t)).toBe(t);
    expect(s.getAll(bom)).toEqual(bom);
    const sorted = [...bom].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...s.all()]).toEqual(sorted.map((t) => [t, t]));
    expect([...s.all({ reverse: true })]).toEqual(sorted.reverse().map((t) => [t, t]));
    await s.close();
  });
});
