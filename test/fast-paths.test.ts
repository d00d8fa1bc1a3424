// The built-in codecs' fast paths (bindings/codecs.ts) agree with plain encode/decode.
// Units: encodeUtf8Into and utf8Length against TextEncoder; each codec's encodable and
// decodeFrom against its encode and decode. Stores: a store on the built-in codecs (fast
// paths) and one on user codecs doing the same thing through TextEncoder/TextDecoder/JSON
// (plain path) take the same random operations; the plain store is the model, and every
// answer, every stored key byte, every error code and the engine's memory use must match.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Store, StrataError, codecs, type Codec } from 'strata-kv';
import { encodeUtf8Into, utf8Length, fastPathOf } from '../bindings/codecs.js';
import type { EngineIterator } from '../bindings/store/iterator.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const te = new TextEncoder();
const td = new TextDecoder();

/** Strings of every kind the fast path branches on: ASCII (short and past the 32-unit loop),
 *  BMP, astral (surrogate pairs), lone surrogates of both halves, empty. */
const codeUnit = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 0x7f }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0x7ff }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x800, max: 0xffff }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }) },
);
const anyString = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.array(codeUnit, { maxLength: 80 }).map((u) => String.fromCharCode(...u)),
  fc.tuple(fc.string({ maxLength: 40 }), fc.array(codeUnit, { maxLength: 4 })).map(([a, u]) => a + String.fromCharCode(...u)),
);

/** The models: user codecs (no fast path) that accept and refuse what the built-in ones do. */
const plainUtf8: Codec<string> = {
  encode: (s) => {
    if (typeof s !== 'string') throw new TypeError('not a string');
    if (/\p{Cs}/u.test(s)) throw new TypeError('lone surrogate'); // no UTF-8 for it
    return te.encode(s);
  },
  decode: (b) => td.decode(b),
};
const plainJson: Codec<any> = {
  encode: (v) => {
    const text = JSON.stringify(v);
    if (text === undefined) throw new TypeError('not JSON');
    return te.encode(text);
  },
  decode: (b) => JSON.parse(td.decode(b)),
};

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'ok';
}

describe('encodeUtf8Into and utf8Length', () => {
  it('write exactly what TextEncoder.encode returns, at any offset, and fail cleanly when short', () => {
    fc.assert(fc.property(anyString, fc.nat(16), (s, offset) => {
      const expected = te.encode(s);
      expect(utf8Length(s)).toBe(expected.length);
      const u8 = new Uint8Array(offset + 3 * s.length + 8).fill(0xee);
      expect(encodeUtf8Into(s, u8, offset, 3 * s.length)).toBe(expected.length);
      expect(u8.subarray(offset, offset + expected.length)).toEqual(expected);
      expect(u8.subarray(0, offset).every((b) => b === 0xee)).toBe(true);
      // Exactly enough room works; one byte less is refused.
      const tight = new Uint8Array(offset + expected.length);
      expect(encodeUtf8Into(s, tight, offset, expected.length)).toBe(expected.length);
      expect(tight.subarray(offset)).toEqual(expected);
      if (expected.length > 0) expect(encodeUtf8Into(s, new Uint8Array(offset + expected.length), offset, expected.length - 1)).toBe(-1);
    }), { numRuns: 2000 });
  });

  it('handle strings of 65,535 bytes and beyond like TextEncoder', () => {
    const cases = ['a'.repeat(65_535), '€'.repeat(21_845), '\ud800'.repeat(21_845), '😀'.repeat(16_383) + 'abc',
      'é'.repeat(32_767) + 'a', 'a'.repeat(40) + '€'.repeat(21_832), '€'.repeat(21_845) + 'a'];
    for (const s of cases) {
      const expected = te.encode(s);
      expect(utf8Length(s)).toBe(expected.length);
      const u8 = new Uint8Array(3 * s.length);
      expect(encodeUtf8Into(s, u8, 0, u8.length)).toBe(expected.length);
      expect(u8.subarray(0, expected.length)).toEqual(expected);
    }
  });
});

describe('codec fast paths', () => {
  const decodeCase = <T>(codec: Codec<T>, bytes: Uint8Array, offset: number) => {
    const fast = fastPathOf(codec)!;
    const u8 = new Uint8Array(offset + bytes.length + 3);
    u8.set(bytes, offset);
    let plain: unknown, viaFast: unknown;
    try { plain = { ok: codec.decode(bytes.slice()) }; } catch (err) { plain = { err: String(err) }; }
    try { viaFast = { ok: fast.decodeFrom(u8, offset, bytes.length) }; } catch (err) { viaFast = { err: String(err) }; }
    expect(viaFast).toEqual(plain);
  };
  const encodeCase = <T>(codec: Codec<T>, value: T) => {
    const fast = fastPathOf(codec)!;
    let plain: unknown, viaFast: unknown;
    try { plain = { ok: codec.encode(value) }; } catch (err) { plain = { err: (err as StrataError).code, message: (err as Error).message }; }
    try {
      const e = fast.encodable(value);
      viaFast = { ok: typeof e === 'string' ? te.encode(e) : e };
    } catch (err) { viaFast = { err: (err as StrataError).code, message: (err as Error).message }; }
    expect(viaFast).toEqual(plain);
  };

  it('every built-in codec has one, and a modified copy has none', () => {
    for (const c of Object.values(codecs)) expect(fastPathOf(c as Codec<unknown>)).toBeDefined();
    expect(fastPathOf(plainUtf8)).toBeUndefined();
    expect(fastPathOf({ ...codecs.utf8, encode: (s: string) => codecs.utf8.encode(s.toUpperCase()) })).toBeUndefined();
  });

  it('encodable stands for the bytes of encode, with the same errors', () => {
    const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.bigInt(), fc.object(), fc.string(),
      fc.uint8Array({ maxLength: 9 }), fc.double(), fc.constant(() => 1));
    fc.assert(fc.property(fc.oneof(anyString, junk), (v) => encodeCase(codecs.utf8, v as string)), { numRuns: 1000 });
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), anyString, junk, fc.constant({ toJSON: () => '\udc00x' })),
      (v) => encodeCase(codecs.json, v)), { numRuns: 1000 });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), junk), (v) => encodeCase(codecs.bytes, v as Uint8Array)));
    fc.assert(fc.property(fc.oneof(fc.nat({ max: 0xffffffff }), junk), (v) => encodeCase(codecs.uint32, v as number)));
    fc.assert(fc.property(fc.oneof(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), junk), (v) => encodeCase(codecs.int64, v as bigint)));
  });

  it('decodeFrom equals decode of a copy, and bytes are a copy', () => {
    const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 120 }), anyString.map((s) => te.encode(s)),
      fc.jsonValue().map((v) => te.encode(JSON.stringify(v))));
    fc.assert(fc.property(anyBytes, fc.nat(20), (b, offset) => {
      for (const c of Object.values(codecs)) decodeCase(c as Codec<unknown>, b, offset);
    }), { numRuns: 1000 });
    const u8 = new Uint8Array([1, 2, 3, 4]);
    const out = fastPathOf(codecs.bytes)!.decodeFrom(u8, 1, 2);
    u8.fill(9);
    expect([...out]).toEqual([2, 3]);
  });

  it('bytes copies are disjoint views of the pool or fresh arrays above 4 KiB, each its own', () => {
    // Pooled copies (bindings/byte-pool.ts) share ArrayBuffers: each must stay exactly what
    // it was copied from after the source changes and after every other copy is written.
    const decode = fastPathOf(codecs.bytes)!.decodeFrom;
    fc.assert(fc.property(fc.array(fc.oneof(fc.nat(300), fc.integer({ min: 4000, max: 9000 })), { minLength: 1, maxLength: 200 }), (lengths) => {
      const src = new Uint8Array(9100);
      const copies = lengths.map((n, i) => {
        src.fill(i & 0xff);
        const c = decode(src, 50, n);
        expect(c.length).toBe(n);
        if (n > 4096) expect(c.byteLength === c.buffer.byteLength && c.byteOffset === 0).toBe(true);
        else expect(c.byteOffset % 8).toBe(0);
        return c;
      });
      src.fill(0xee);
      for (const [i, c] of copies.entries()) c.fill((i + 1) & 0xff); // each writes only its own bytes
      for (const [i, c] of copies.entries()) expect(c.every((b) => b === ((i + 1) & 0xff))).toBe(true);
    }), { numRuns: 200 });
  });
});

// ---- stores: fast path against plain path ------------------------------------------------

type Op =
  | { t: 'put'; k: string; v: unknown }
  | { t: 'del'; k: string }
  | { t: 'putAll'; e: [string, unknown][] }
  | { t: 'write'; ops: ({ type: 'put'; key: string; value: unknown } | { type: 'del'; key: string })[] }
  | { t: 'get'; k: string }
  | { t: 'getAll'; ks: string[] }
  | { t: 'putIfVersion'; k: string; v: unknown; expected: number }
  | { t: 'range'; from: string; to: string; reverse: boolean };

/** Long keys and values cross the limits and the exact-size path (over 21,845 units). */
const keyArb = fc.oneof(
  { weight: 12, arbitrary: anyString },
  { weight: 1, arbitrary: fc.constantFrom('€'.repeat(21_845), '\ud800'.repeat(21_845), '€'.repeat(21_845) + 'a',
    'a'.repeat(65_535), 'a'.repeat(65_536), '😀'.repeat(16_384)) },
  { weight: 1, arbitrary: fc.constantFrom(5, null, undefined, new Uint8Array(1)) as fc.Arbitrary<any> },
);

function opArb(value: fc.Arbitrary<unknown>): fc.Arbitrary<Op> {
  return fc.oneof(
    fc.record({ t: fc.constant('put' as const), k: keyArb, v: value }),
    fc.record({ t: fc.constant('del' as const), k: keyArb }),
    fc.record({ t: fc.constant('putAll' as const), e: fc.array(fc.tuple(keyArb, value), { maxLength: 6 }) }),
    fc.record({ t: fc.constant('write' as const), ops: fc.array(fc.oneof(
      fc.record({ type: fc.constant('put' as const), key: keyArb, value }),
      fc.record({ type: fc.constant('del' as const), key: keyArb })), { maxLength: 6 }) }),
    fc.record({ t: fc.constant('get' as const), k: keyArb }),
    fc.record({ t: fc.constant('getAll' as const), ks: fc.array(keyArb, { maxLength: 6 }) }),
    fc.record({ t: fc.constant('putIfVersion' as const), k: keyArb, v: value, expected: fc.nat(40) }),
    fc.record({ t: fc.constant('range' as const), from: anyString, to: anyString, reverse: fc.boolean() }),
  );
}

/** Runs one op, returning what it answered or its error code. */
function run(s: Store<string, any>, op: Op): unknown {
  try {
    switch (op.t) {
      case 'put': s.put(op.k, op.v); return 'ok';
      case 'del': s.delete(op.k); return 'ok';
      case 'putAll': s.putAll(op.e); return 'ok';
      case 'write': s.write(op.ops); return 'ok';
      case 'get': return { v: s.get(op.k), versioned: s.getVersioned(op.k), has: s.has(op.k) };
      case 'getAll': return s.getAll(op.ks);
      case 'putIfVersion': return s.putIfVersion(op.k, op.v, op.expected);
      case 'range': return [...s.range(op.from, op.to, { reverse: op.reverse })];
    }
  } catch (err) {
    if (err instanceof StrataError) return `error ${err.code}`;
    throw err;
  }
}

/** Every entry with the stored key bytes the iterator saw (EngineIterator.rawKey). */
function dump(s: Store<string, any>): unknown[] {
  const out: unknown[] = [];
  const it = s.all() as unknown as EngineIterator<string, unknown>;
  for (const [k, v] of it) out.push([k, v, Buffer.from(it.rawKey).toString('hex')]);
  return out;
}

async function agree(value: fc.Arbitrary<unknown>, fastValue: Codec<any>, plainValue: Codec<any>,
                     options: { maxMemoryBytes?: number; memtableBytes?: number }, numRuns: number): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.array(opArb(value), { maxLength: 25 }), async (ops) => {
    const fast = await Store.open<string, any>({ keyCodec: codecs.utf8, valueCodec: fastValue, ...options });
    const plain = await Store.open<string, any>({ keyCodec: plainUtf8, valueCodec: plainValue, ...options });
    const records: { fast: unknown[]; plain: unknown[] } = { fast: [], plain: [] };
    fast.onChange((r) => records.fast.push(...r));
    plain.onChange((r) => records.plain.push(...r));
    try {
      for (const op of ops) expect(run(fast, op)).toEqual(run(plain, op));
      expect(dump(fast)).toEqual(dump(plain));
      expect(records.fast).toEqual(records.plain);
      const [a, b] = [fast.stats(), plain.stats()];
      // Same reservations whatever the path: the memory cap sees the same thing.
      expect({ e: a.engineBytes, m: a.memoryBytes, u: a.counters.userBytesWritten })
        .toEqual({ e: b.engineBytes, m: b.memoryBytes, u: b.counters.userBytesWritten });
    } finally {
      await fast.close();
      await plain.close();
    }
  }), { numRuns });
}

describe('a store on the fast paths behaves like one on plain user codecs', () => {
  const bigString = fc.constantFrom('x'.repeat(21_846), '€'.repeat(30_000), 'a'.repeat(200_000));
  const utf8Value = fc.oneof({ weight: 10, arbitrary: anyString }, { weight: 1, arbitrary: bigString },
    { weight: 1, arbitrary: fc.constantFrom(7, null) as fc.Arbitrary<any> });
  const jsonValue = fc.oneof({ weight: 10, arbitrary: fc.jsonValue() }, { weight: 2, arbitrary: anyString },
    { weight: 1, arbitrary: bigString }, { weight: 1, arbitrary: fc.constantFrom(undefined, 10n, () => 1) as fc.Arbitrary<any> });

  it('utf8 keys and utf8 values', async () => { await agree(utf8Value, codecs.utf8, plainUtf8, {}, 60); });
  it('utf8 keys and json values', async () => { await agree(jsonValue, codecs.json, plainJson, {}, 60); });
  it('tiny memtables and a 1 MiB memory cap: the same writes are refused', async () => {
    await agree(utf8Value, codecs.utf8, plainUtf8, { memtableBytes: 512, maxMemoryBytes: 1 << 20 }, 30);
  });
});

describe('limits and atomicity on the fast path', () => {
  it('keys of 65,535 encoded bytes are stored, 65,536 refused, and bad input changes nothing', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    for (const k of ['€'.repeat(21_845), '\ud7ff'.repeat(21_845), 'a'.repeat(65_535), '😀'.repeat(16_383) + 'abc']) {
      s.put(k, 'v');
      expect(s.get(k)).toBe('v');
      const it = s.all() as unknown as EngineIterator<string, string>;
      expect(it.next().value).toEqual([td.decode(te.encode(k)), 'v']);
      expect(it.rawKey).toEqual(te.encode(k));
      it.close();
      s.delete(k);
    }
    s.put('kept', 'v');
    const before = dump(s as Store<string, any>);
    const seq = s.stats().sequence;
    for (const k of ['€'.repeat(21_845) + 'a', 'a'.repeat(65_536), '😀'.repeat(16_384)]) {
      expect(codeOf(() => s.put(k, 'v'))).toBe('KEY_TOO_LARGE');
      expect(codeOf(() => s.get(k))).toBe('KEY_TOO_LARGE');
      expect(codeOf(() => s.putAll([['ok', 'v'], [k, 'v']]))).toBe('KEY_TOO_LARGE');
    }
    expect(codeOf(() => s.put(5 as never, 'v'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.put('\ud800'.repeat(21_845), 'v'))).toBe('INVALID_ARGUMENT'); // a lone surrogate has no UTF-8
    expect(codeOf(() => s.put('k', 5 as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.write([{ type: 'put', key: 'ok', value: 'v' }, { type: 'put', key: 'k2', value: null as never }]))).toBe('INVALID_ARGUMENT');
    // A key too large is reported before a bad value, as encode's order has it.
    expect(codeOf(() => s.put('a'.repeat(65_536), 5 as never))).toBe('KEY_TOO_LARGE');
    expect(s.stats().sequence).toBe(seq);
    expect(dump(s as Store<string, any>)).toEqual(before);
    await s.close();
  });

  it('a utf8 value over 64 MiB is VALUE_TOO_LARGE and changes nothing', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    s.put('a', 'b');
    expect(codeOf(() => s.put('a', 'x'.repeat(64 * 1024 * 1024 + 1)))).toBe('VALUE_TOO_LARGE');
    expect(codeOf(() => s.put('a', '€'.repeat(22_369_622)))).toBe('VALUE_TOO_LARGE'); // 67,108,866 bytes
    expect(s.get('a')).toBe('b');
    expect(s.stats().sequence).toBe(1);
    await s.close();
  });

  it('a user codec without a fast path is used as given; one returning a string is refused', async () => {
    let encodes = 0, decodes = 0;
    const upper: Codec<string> = {
      encode: (v) => { encodes++; return te.encode(v.toUpperCase()); },
      decode: (b) => { decodes++; return td.decode(b).toLowerCase(); },
    };
    const s = await Store.open<string, string>({ keyCodec: upper, valueCodec: upper });
    s.put('abc', 'xyz');
    expect(s.get('ABC')).toBe('xyz');
    expect([...s.all()]).toEqual([['abc', 'xyz']]);
    expect(encodes).toBeGreaterThan(0);
    expect(decodes).toBeGreaterThan(0);
    await s.close();
    // A spread copy of a built-in codec with its own encode takes the plain path.
    const shouting = { ...codecs.utf8, encode: (v: string) => codecs.utf8.encode(v.toUpperCase()) };
    const t = await Store.open<string, string>({ keyCodec: shouting, valueCodec: codecs.utf8 });
    t.put('k', 'v');
    expect(t.get('K')).toBe('v');
    await t.close();
    const bad = await Store.open<string, string>({ keyCodec: { encode: (v) => v as never, decode: (b) => td.decode(b) } });
    expect(codeOf(() => bad.put('k', new Uint8Array(1) as never))).toBe('INVALID_ARGUMENT');
    await bad.close();
  });
});

describe('iterator batches read in place', () => {
  it('interleaved iterators of one store (and of its snapshot) each see their own entries', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 4096 });
    const keys = Array.from({ length: 1500 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    s.putAll(keys.map((k) => [k, `v${k}`]));
    const snap = s.snapshot();
    s.put('k00000', 'changed');
    const a = s.all();
    const b = s.all({ reverse: true });
    const c = snap.range('k00100', 'k01400');
    const seen: [string, string][][] = [[], [], []];
    const rng = fc.sample(fc.nat(2), { numRuns: 20_000, seed: 42 });
    let live = 3;
    const open = [a, b, c];
    for (let i = 0; live > 0; i++) {
      const j = rng[i % rng.length];
      const it = open[j];
      if (!it) continue;
      const r = it.next();
      if (r.done) { open[j] = undefined as never; live--; } else seen[j].push(r.value);
    }
    const expectedNow = keys.map((k) => [k, k === 'k00000' ? 'changed' : `v${k}`]);
    expect(seen[0]).toEqual(expectedNow);
    expect(seen[1]).toEqual([...expectedNow].reverse());
    expect(seen[2]).toEqual(keys.slice(100, 1400).map((k) => [k, `v${k}`]));
    snap.close();
    await s.close();
  });
});

describe('packed batch values (bytes values and codecs without a fast path)', () => {
  /** Value i: its length cycles through sizes around the engine's 64 KiB pack, its bytes say i. */
  const SIZES = [0, 1, 100, 4000, 30_000, 65_536, 70_000, 200_000, 7];
  const valueFor = (i: number) => {
    const v = new Uint8Array(SIZES[i % SIZES.length]);
    for (let j = 0; j < v.length; j += 997) v[j] = (i + j) & 0xff;
    if (v.length > 0) v[v.length - 1] = i & 0xff;
    return v;
  };
  const keyOf = (i: number) => `k${String(i).padStart(4, '0')}`;
  /** Whether v holds value i (toEqual is slow on arrays this large). */
  const isValue = (v: Uint8Array, i: number) => Buffer.from(v.buffer, v.byteOffset, v.length).equals(valueFor(i));

  it.each(['in memory', 'file-backed, no block cache'])('are copies: right across pack-sized batches, in both directions, unchanged by later writes and reads (%s)', async (where) => {
    const path = where === 'in memory' ? undefined : mkdtempSync(join(tmpdir(), 'strata-pack-'));
    const s = await Store.open<string, Uint8Array>({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, memtableBytes: 1 << 20, path, blockCacheBytes: 0 });
    const n = 300;
    for (let i = 0; i < n; i++) s.put(keyOf(i), valueFor(i));
    await s.flush();
    for (let i = 0; i < n; i += 3) s.put(keyOf(i), valueFor(i)); // memtable and run interleave
    const fwd = [...s.all()];
    const rev = [...s.all({ reverse: true })];
    const part = [...s.range(keyOf(10), keyOf(250), { limit: 57 })];
    for (let i = 0; i < n; i++) s.put(keyOf(i), new Uint8Array(SIZES[i % SIZES.length]).fill(0xee));
    [...s.all()]; // later batches reuse the engine's pack
    expect(fwd.map(([k]) => k)).toEqual(Array.from({ length: n }, (_, i) => keyOf(i)));
    fwd.forEach(([, v], i) => { expect(isValue(v, i)).toBe(true); });
    expect(rev.map(([k]) => k)).toEqual(Array.from({ length: n }, (_, i) => keyOf(n - 1 - i)));
    rev.forEach(([, v], i) => { expect(isValue(v, n - 1 - i)).toBe(true); });
    expect(part.map(([k]) => k)).toEqual(Array.from({ length: 57 }, (_, i) => keyOf(10 + i)));
    part.forEach(([, v], i) => { expect(isValue(v, 10 + i)).toBe(true); });
    // Values of one batch may share an ArrayBuffer, but never its bytes.
    for (const [, v] of fwd) v.fill(0x55);
    fwd.forEach(([, v]) => { expect(v.every((b) => b === 0x55)).toBe(true); });
    part.forEach(([, v], i) => { expect(isValue(v, 10 + i)).toBe(true); });
    if (path) expect(s.stats().fileBackedRuns).toBeGreaterThan(0);
    await s.close();
    if (path) rmSync(path, { recursive: true, force: true });
  });

  it('a user codec without a fast path decodes a copy; interleaved iterators keep their own batches', async () => {
    const seen: Uint8Array[] = [];
    const keep: Codec<Uint8Array> = { encode: (v) => v, decode: (b) => { seen.push(b); return b; } };
    const s = await Store.open<string, Uint8Array>({ keyCodec: codecs.utf8, valueCodec: keep });
    for (let i = 0; i < 200; i++) s.put(keyOf(i), valueFor(i));
    const a = s.all(), b = s.all({ reverse: true });
    const got: [Uint8Array[], Uint8Array[]] = [[], []];
    for (let i = 0; i < 200; i++) {
      got[0].push(a.next().value![1]);
      got[1].push(b.next().value![1]);
    }
    expect(a.next().done).toBe(true);
    expect(b.next().done).toBe(true);
    got[0].forEach((v, i) => { expect(isValue(v, i)).toBe(true); });
    got[1].forEach((v, i) => { expect(isValue(v, 199 - i)).toBe(true); });
    expect(seen.length).toBe(400);
    await s.close();
  });

  it('a store with a ttl reads expiry from the packed copy', async () => {
    const s = await Store.open<string, Uint8Array>({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, ttlMs: 60_000, expirySweepMs: 0 });
    for (let i = 0; i < 100; i++) s.put(keyOf(i), valueFor(i));
    const got = [...s.range(keyOf(5), keyOf(95), { limit: 80 })];
    expect(got.map(([k]) => k)).toEqual(Array.from({ length: 80 }, (_, i) => keyOf(5 + i)));
    got.forEach(([, v], i) => { expect(isValue(v, 5 + i)).toBe(true); });
    await s.close();
  });
});

describe('packed batch keys (utf8 keys)', () => {
  it('ASCII, non-ASCII, empty and pack-sized keys come back exact, in both directions, interleaved and with expiry', async () => {
    const keys = [''];
    for (let i = 0; i < 700; i++) {
      const base = `k${String(i).padStart(4, '0')}`;
      keys.push(i % 97 === 5 ? `${base}-é-${i}` : i % 101 === 7 ? `${base}${'x'.repeat(17_000 + i)}` : i % 89 === 3 ? `${base}\u{1F600}` : base);
    }
    keys.push('\u00ff', '\ufffd\ufffd');
    keys.sort((a, b) => Buffer.compare(te.encode(a), te.encode(b)));
    for (const extra of [{}, { ttlMs: 60_000, expirySweepMs: 0 }]) {
      const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...extra });
      s.putAll(keys.map((k) => [k, `v${k.length}`]));
      const fwd = s.all(), rev = s.all({ reverse: true });
      const a: string[] = [], b: string[] = [];
      for (let i = 0; i < keys.length; i++) {
        const x = fwd.next().value!, y = rev.next().value!;
        a.push(x[0]); b.push(y[0]);
        expect(x[1]).toBe(`v${x[0].length}`);
      }
      expect(fwd.next().done).toBe(true);
      expect(rev.next().done).toBe(true);
      expect(a).toEqual(keys);
      expect(b).toEqual([...keys].reverse());
      expect([...s.range(keys[3], keys[300], { limit: 250 })].map(([k]) => k)).toEqual(keys.slice(3, 253));
      await s.close();
    }
  });
});
