// Bad input, as an outside tester's fuzzer gives it: any value (null-prototype objects,
// sparse arrays, symbols, bigints, typed arrays, records with any field wrong) as any
// argument of any method. Every call returns or throws a StrataError with a code (never
// the TypeError of handling the argument), a refused write changes nothing, and the store
// goes on: it reads, its changelog restores to it, and with a directory it reopens to it.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Store, PartitionedStore, MemoryChangelog, StrataError, codecs, type Codec } from 'strata-kv';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** The code of the error `fn` throws or rejects with: 'none', or 'not a StrataError: …'. */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    let r = fn() as any;
    if (r && typeof r.then === 'function') r = await r;
    if (r && typeof r.next === 'function') { let i = 0; for (const _ of r) if (++i > 5) break; r.close?.(); }
    return 'none';
  } catch (err) {
    return err instanceof StrataError && typeof err.code === 'string' ? err.code : `not a StrataError: ${String((err as Error)?.stack ?? err)}`;
  }
}

const nullProto = () => Object.create(null) as never;

describe('counterexamples (kept as regular tests)', () => {
  it('a null-prototype object where a number goes is INVALID_ARGUMENT, not the TypeError of printing it', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    const ps = await PartitionedStore.open<string, string>({ partitions: 2, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    const log = new MemoryChangelog();
    const rec = (over: object) => ({ partition: 0, seq: 1, key: new Uint8Array([1]), value: null, ...over });
    expect(await codeOf(() => s.putIfVersion('a', 'v', nullProto()))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.deleteIfVersion('a', nullProto()))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.range('a', 'b', { limit: nullProto() }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.restore([rec({ seq: nullProto() })]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.restore([rec({ expiresAt: nullProto() })]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.write([{ type: nullProto(), key: 'a' } as never]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => ps.partition(nullProto()))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => log.append([rec({ partition: nullProto() })]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => log.append([rec({ seq: [nullProto()] })]))).toBe('INVALID_ARGUMENT'); // an array holding one
    expect(await codeOf(() => log.read(nullProto()))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => Store.open({ memtableBytes: nullProto() }))).toBe('INVALID_ARGUMENT');
    expect(s.stats().sequence).toBe(0);
    await s.close();
    await ps.close();
  });

  it('getAll of a sparse array: a hole is a key of undefined, refused as get(undefined) is, for a store and a snapshot of either kind', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    const ps = await PartitionedStore.open<string, string>({ partitions: 2, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    s.put('a', '1');
    ps.put('a', '1');
    const sparse = new Array<string>(3); // a hole at 1
    sparse[0] = 'a';
    sparse[2] = 'b';
    expect(await codeOf(() => s.get(undefined as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.getAll(sparse))).toBe('INVALID_ARGUMENT'); // was a TypeError
    const snap = s.snapshot();
    expect(await codeOf(() => snap.getAll(sparse))).toBe('INVALID_ARGUMENT');
    snap.close();
    expect(await codeOf(() => ps.getAll(sparse))).toBe('INVALID_ARGUMENT');
    const psnap = ps.snapshot();
    expect(await codeOf(() => psnap.getAll(sparse))).toBe('INVALID_ARGUMENT'); // was [ '1', undefined, undefined ]
    psnap.close();
    expect(s.getAll(['a', 'b'])).toEqual(['1', undefined]);
    await s.close();
    await ps.close();
  });
});

describe('user code that throws any value', () => {
  // Found by the hunt: describing what a listener, sink, codec or merge operator threw
  // (`${err.message ?? String(err)}`) threw a TypeError for an object without a usable
  // toString, or whose message is one: a listener's made its committed put throw, and a
  // sink's escaped before the store latched the failure (it went on taking writes).
  const thrown = fc.oneof(junk, junk.map((message) => ({ message })));
  it('a listener: the write returns and is counted; a sink: IO_ERROR and the store stops; a codec or an operator: INVALID_ARGUMENT', async () => {
    for (const cases of [[Object.create(null), { message: Object.create(null) }, { message: Symbol('m') }], fc.sample(thrown, { numRuns: 60 })]) {
      for (const value of cases) {
        const raise = () => { throw value; };
        const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, onListenerError: () => {} });
        s.onChange(raise);
        expect(await codeOf(() => s.put('k', 'v'))).toBe('none'); // committed: told, not thrown
        expect(s.get('k')).toBe('v');
        expect(s.stats().counters.listenerErrors).toBe(1);
        await s.close();
        const sunk = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: { append: raise } });
        expect(await codeOf(() => sunk.put('k', 'v'))).toBe('IO_ERROR');
        expect(await codeOf(() => sunk.delete('k'))).toBe('IO_ERROR'); // latched: the sink may have lost records
        expect(sunk.get('k')).toBeUndefined();
        await sunk.close().catch(() => {});
        const coded = await Store.open<string, string>({ keyCodec: { encode: raise, decode: raise }, mergeOperators: { bad: raise } });
        expect(await codeOf(() => coded.put('k', 'v'))).toBe('INVALID_ARGUMENT');
        await coded.close();
        const merged = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, mergeOperators: { bad: raise } });
        merged.merge('k', 'v', 'bad');
        expect(await codeOf(() => merged.get('k'))).toBe('INVALID_ARGUMENT');
        await merged.close();
      }
    }
  });
});

describe('batches larger than the argument region can be (1 GiB: TLSF\'s largest block)', () => {
  it('putAll, write and getAll of more than 2 GiB are OUT_OF_MEMORY, and the store goes on', () => {
    // Found by the hunt: io_reserve doubled the region's size until it held the batch, and
    // past 2 GiB the doubling wrapped a 32-bit size to 0: the call spun forever (33 values
    // of 64 MiB, one array 33 times). Past 4 GiB the size wrapped on its way in and the
    // batch was written past the region (a RangeError). A spinning Wasm call cannot be
    // interrupted from its own thread, so the calls run in a child (dist/, fresh-build.ts).
    const script = `
      import { Store } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const codeOf = (f) => { try { f(); return 'none'; } catch (e) { return e.code ?? String(e); } };
      const s = await Store.open();
      s.put(new Uint8Array([1]), new Uint8Array([2]));
      const value = new Uint8Array((64 << 20) - 16);
      const key = new Uint8Array(65_535);
      const out = {
        putAll: codeOf(() => s.putAll(Array.from({ length: 33 }, (_, i) => [new Uint8Array([9, i]), value]))),
        write: codeOf(() => s.write(Array.from({ length: 70 }, (_, i) => ({ type: 'put', key: new Uint8Array([9, i]), value })))),
        getAll: codeOf(() => s.getAll(Array.from({ length: 33_000 }, () => key))),
        after: [...s.all()].length,
      };
      await s.close();
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal, `the child ${r.signal === 'SIGTERM' ? 'hung and was killed after 30 s' : `failed: ${r.stderr}`}`).toBeNull();
    expect(JSON.parse(r.stdout)).toEqual({ putAll: 'OUT_OF_MEMORY', write: 'OUT_OF_MEMORY', getAll: 'OUT_OF_MEMORY', after: 1 });
  }, 60_000);

  it('a batch of 512 MiB to 1 GiB is answered: no allocation passes TLSF\'s largest block (1 GiB) and traps', async () => {
    // Found in review: the region doubled to 1 GiB for a batch past 512 MiB, and TLSF aborts
    // an allocation above its largest block ((1 << 30) - 4): the engine trapped (a
    // RuntimeError, not a StrataError) on a getAll of 9,000 64 KiB keys (590 MB) or a
    // putAll of 9 x 64 MiB. The region now stops below that block (memory-budget.ts
    // MAX_ALLOC), and budgetAlloc refuses anything larger, as OUT_OF_MEMORY.
    const s = await Store.open();
    s.put(new Uint8Array([1]), new Uint8Array([2]));
    const key = new Uint8Array(65_535).fill(7);
    let got: unknown;
    try { got = s.getAll(Array.from({ length: 9_000 }, () => key)); } catch (err) { got = err; }
    expect(got instanceof Error ? `${(got as { code?: string }).code ?? ''} ${String(got)}` : (got as unknown[]).every((v) => v === undefined)).toBe(true);
    expect(s.getAll([new Uint8Array([1])])).toEqual([new Uint8Array([2])]);
    await s.close();
  }, 60_000);
});

// ---- the property --------------------------------------------------------------------------

const junk = fc.oneof(
  fc.anything({ withBigInt: true, withTypedArray: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, maxDepth: 2 }),
  fc.constantFrom<unknown>(NaN, -1, 1.5, 2 ** 53, Infinity, -0, '', 0, 1, null, undefined, [], {}, Symbol('s'), () => 1,
    new Uint8Array(0), new Uint8Array(70_000), Object.create(null), { toString: () => { throw new Error('no'); } }),
);
const bytes = fc.uint8Array({ maxLength: 6 });
/** A change record with any of its fields wrong (or right). */
const record = fc.record({
  partition: fc.oneof(fc.constant(0), junk), seq: fc.oneof(fc.nat(50), junk), key: fc.oneof(bytes, junk),
  value: fc.oneof(bytes, fc.constant(null), junk), rangeEnd: fc.oneof(bytes, junk), expiresAt: junk,
}, { requiredKeys: ['partition', 'seq', 'key', 'value'] });
const args = fc.array(fc.oneof({ weight: 4, arbitrary: junk }, { weight: 1, arbitrary: fc.array(record, { maxLength: 3 }) }), { maxLength: 3 });

const STORE_METHODS = ['get', 'has', 'getAll', 'getVersioned', 'put', 'putAll', 'delete', 'deleteAll', 'write', 'deleteRange', 'merge',
  'range', 'all', 'prefixScan', 'putIfVersion', 'deleteIfVersion', 'putIfAbsent', 'getAndDelete', 'restore', 'onChange'] as const;
const sorted = (s: { all(): Iterable<[string, unknown]> }) => JSON.stringify([...s.all()]);

interface Case { name: string; keyCodec: Codec<any>; valueCodec: Codec<any>; sample: [unknown, unknown] }
const CASES: Case[] = [
  { name: 'bytes', keyCodec: codecs.bytes, valueCodec: codecs.bytes, sample: [new Uint8Array([1]), new Uint8Array([2])] },
  { name: 'utf8 / json', keyCodec: codecs.utf8, valueCodec: codecs.json, sample: ['a', { x: 1 }] },
  { name: 'uint32 / int64', keyCodec: codecs.uint32, valueCodec: codecs.int64, sample: [5, 7n] },
];

describe('any argument to any method: a StrataError or success, and the store goes on', () => {
  for (const c of CASES) {
    it(`a store with a directory and a changelog (${c.name})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-bad-input-'));
      dirs.push(dir);
      const log = new MemoryChangelog();
      const opts = { keyCodec: c.keyCodec, valueCodec: c.valueCodec, memtableBytes: 4096 };
      const s = await Store.open<any, any>({ path: dir, changelog: log, restoreFrom: false, ...opts });
      s.put(c.sample[0], c.sample[1]);
      const show = (x: { all(): Iterable<[unknown, unknown]> }) => JSON.stringify([...x.all()], (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
      let restored = false; // a restore bypasses the changelog
      await fc.assert(fc.asyncProperty(fc.constantFrom(...STORE_METHODS), args, async (m, a) => {
        const before = s.stats().sequence;
        const code = await codeOf(() => (s as any)[m](...a));
        if (m === 'restore' && s.stats().sequence !== before) restored = true;
        expect(code).not.toMatch(/^not a StrataError/);
        if (code !== 'none' && m !== 'restore') expect(s.stats().sequence, `${m} refused with ${code} but wrote`).toBe(before);
        expect(s.has(c.sample[0])).toBeTypeOf('boolean'); // still reads
      }), { numRuns: 400 });
      // The changelog restores to the store (unless a restore went in); a reopen holds it.
      // A restore takes encoded records as they are, so it may have put bytes the codecs
      // cannot decode (a 5-byte uint32 key): reading those is INVALID_ARGUMENT, and the store
      // is then compared as raw bytes (found by CI: a fresh seed restored such a key).
      const raw = { keyCodec: codecs.bytes, valueCodec: codecs.bytes, memtableBytes: 4096 };
      let now: string | undefined;
      try { now = show(s); } catch (err) {
        if (!(restored && err instanceof StrataError && err.code === 'INVALID_ARGUMENT')) throw err;
      }
      if (!restored) {
        const copy = await Store.open<any, any>(opts);
        await copy.restore(log.read(0));
        expect(show(copy)).toBe(now);
        await copy.close();
      }
      await s.close();
      const r = await Store.open<any, any>({ path: dir, restoreFrom: false, ...(now === undefined ? raw : opts) });
      if (now !== undefined) expect(show(r)).toBe(now);
      else expect([...r.all()].length).toBeGreaterThan(0); // it reopens and reads, raw
      await r.close();
    }, 120_000);
  }

  it('a restore of bytes the key codec cannot decode: reads of them are INVALID_ARGUMENT, the rest reads, a reopen holds them', async () => {
    // The case a fresh seed of the property above met in CI: restore takes encoded records
    // as they are (a changelog's bytes), so a 5-byte key can enter a uint32 store.
    const dir = mkdtempSync(join(tmpdir(), 'strata-bad-input-'));
    dirs.push(dir);
    const opts = { keyCodec: codecs.uint32, valueCodec: codecs.int64 };
    const s = await Store.open<number, bigint>({ path: dir, changelog: new MemoryChangelog(), restoreFrom: false, ...opts });
    s.put(5, 7n);
    await s.restore([{ partition: 0, seq: 10, key: new Uint8Array(5), value: new Uint8Array(8) }]);
    expect(await codeOf(() => [...s.all()])).toBe('INVALID_ARGUMENT');
    expect(s.get(5)).toBe(7n);
    s.put(6, 8n);
    await s.close();
    const r = await Store.open<Uint8Array, Uint8Array>({ path: dir, restoreFrom: false, keyCodec: codecs.bytes, valueCodec: codecs.bytes });
    expect([...r.all()].map(([k]) => [...k])).toEqual([[0, 0, 0, 0, 0], [0, 0, 0, 5], [0, 0, 0, 6]]); // byte order
    await r.close();
  });

  it('a PartitionedStore, its snapshots, and a MemoryChangelog', async () => {
    const ps = await PartitionedStore.open<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    ps.put('a', 'b');
    const log = new MemoryChangelog();
    const targets: [string, object, readonly string[]][] = [
      ['partitioned', ps, [...STORE_METHODS.filter((m) => m !== 'onChange' && m !== 'putIfAbsent' && m !== 'getAndDelete'), 'partitionFor', 'partition']],
      ['changelog', log, ['append', 'read', 'compact']],
    ];
    for (const [name, target, methods] of targets) {
      await fc.assert(fc.asyncProperty(fc.constantFrom(...methods), args, async (m, a) => {
        const snap = ps.snapshot();
        try {
          const code = await codeOf(() => (target as any)[m](...a));
          expect(code, `${name}.${m}`).not.toMatch(/^not a StrataError/);
          const scode = await codeOf(() => (snap as any).getAll(a));
          expect(scode, 'snapshot.getAll').not.toMatch(/^not a StrataError/);
        } finally {
          snap.close();
        }
        expect(sorted(ps).length).toBeGreaterThan(1);
      }), { numRuns: 400 });
    }
    await ps.close();
  }, 120_000);
});
