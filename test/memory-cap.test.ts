// The memory cap (docs/LSM.md, "Memory cap"): puts are refused with OUT_OF_MEMORY while they
// would leave less than the flush and the level-0 compaction need plus a reserve only
// deletes may take. So a store that refuses puts can still be flushed, checkpointed,
// reopened with the same options, take deletes and shrink.
// Model: SortedModel (a plain Map + sequence counter). Every command either succeeds and
// the store reads as the model, or fails with OUT_OF_MEMORY and the store still reads as
// the model did before it; flush() and reopen never fail, and a delete right after a refused
// put is taken.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs, type StoreOptions } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';
import { expectStoreMatches, sameEntries } from './support/expect-model.js';

const dirs: string[] = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-memcap-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const codeOf = (err: unknown) => (err instanceof StrataError ? err.code : String(err));
const key = (i: number) => `key${String(i).padStart(8, '0')}`;
const value = (i: number) => `v${i}`.padEnd(100, '.');

/** Puts key(order(0)), key(order(1)), … until one is refused (which must be OUT_OF_MEMORY);
 *  returns how many were taken. */
function fillToRefusal(s: Store<string, string>, limit: number, order = (i: number) => i): number {
  let n = 0;
  try {
    for (; n < limit; n++) s.put(key(order(n)), value(order(n)));
  } catch (err) {
    expect(codeOf(err)).toBe('OUT_OF_MEMORY');
  }
  return n;
}
/** A permutation of [0, 100,000): keys in random order, so compactions overlap. */
const scrambled = (i: number) => (i * 7919) % 100_000;

describe('a store on disk under its memory cap stays durable and reopens', () => {
  // Before: with the default 4 MiB memtable a 2 MiB cap refused puts after 10,102 and flush(),
  // checkpoint() and reopening failed OUT_OF_MEMORY; with a 256 KiB memtable it took all
  // 100,000 puts in 54 level-0 runs (compaction refused for room), then the same.
  for (const [tuning, order, puts, name] of [
    [{}, scrambled, 30_000, '30,000 puts in random key order'],
    [{ memtableBytes: 256 << 10 }, (i: number) => i, 100_000, '100,000 puts, a 256 KiB memtable'],
  ] as const) {
    it(`${name} under a 2 MiB cap: flush, checkpoint and reopen work, nothing is lost`, async () => {
      const opts = { path: tempDir(), keyCodec: codecs.utf8, valueCodec: codecs.utf8, maxMemoryBytes: 2 << 20, ...tuning };
      let s = await Store.open<string, string>(opts);
      const n = fillToRefusal(s, puts, order);
      expect(n).toBeGreaterThan(20_000); // a directory holds more than the cap
      const l0 = s.stats().levels[0].runs;
      expect(l0).toBeLessThanOrEqual(12); // level 0 bounded (LevelDB's stop trigger at 4 is 12)
      await s.flush();
      await s.checkpoint();
      expect(s.stats().engineBytes).toBeLessThanOrEqual(2 << 20);
      await s.close();
      s = await Store.open<string, string>(opts);
      expect(s.stats().sequence).toBe(n);
      for (let i = 0; i < n; i += 97) expect(s.get(key(order(i)))).toBe(value(order(i)));
      let count = 0;
      for (const [k, v] of s.all()) { expect(v).toBe(value(Number(k.slice(3)))); count++; }
      expect(count).toBe(n);
      s.delete(key(0)); // and it still takes writes
      await s.close();
    }, 240_000);
  }

  // Before: a merge refused memory part way (compact()'s merge of everything, a compaction
  // slice) kept the run it was building allocated for good. Here compact() is refused the
  // merge of everything, then moves levels down until one compaction does not fit; once
  // that is as far as it gets, each call changes nothing, and must not leak either.
  it('a merge refused for memory frees what it wrote', async () => {
    const s = await Store.open<string, string>({ path: tempDir(), keyCodec: codecs.utf8, valueCodec: codecs.utf8, maxMemoryBytes: 2 << 20 });
    fillToRefusal(s, 20_000, scrambled);
    const compact = async () => {
      try { await s.compact(); } catch (err) { expect(codeOf(err)).toBe('OUT_OF_MEMORY'); }
      return { bytes: s.stats().engineBytes, levels: s.stats().levels.map((l) => l.runs) };
    };
    for (let i = 0; i < 10; i++) await compact(); // as far down as fits
    const settled = await compact();
    await expect(s.compact()).rejects.toMatchObject({ code: 'OUT_OF_MEMORY' }); // the case at hand
    for (let i = 0; i < 4; i++) expect(await compact()).toEqual(settled);
    await s.close();
  }, 120_000);
});

describe('reads at the cap on disk take a bounded share of memory per call', () => {
  // Before: one iter_next took every block it met into memory until it returned, and copied
  // every value of its batch, so a scan of large values, or past many hidden ones, at the
  // cap was refused OUT_OF_MEMORY (the replay at the end of this file).
  const big = (i: number) => `${i}:`.padEnd(50_000, String.fromCharCode(97 + (i % 26)));
  const N = 300; // 15 MB of values under a 2 MiB cap: nearly all in run files
  async function openFilled(): Promise<Store<string, string>> {
    const s = await Store.open<string, string>({ path: tempDir(), keyCodec: codecs.utf8, valueCodec: codecs.utf8, maxMemoryBytes: 2 << 20, memtableBytes: 1 << 16, blockBytes: 1024 });
    for (let i = 0; i < N; i++) s.put(key(i), big(i));
    await s.flush();
    return s;
  }
  /** What the cache may hold after a call of a scan: its capacity, the block each source
   *  stands on (pinned), and what one call may read: 64 KiB and the block that passes it. */
  const cacheBound = (s: Store<string, string>) => {
    const { levels, blockCache } = s.stats();
    const sources = levels[0].runs + levels.slice(1).filter((l) => l.runs > 0).length;
    return blockCache.capacity + sources * 51_000 + (64 << 10) + 51_000;
  };

  it('a scan of 15 MB of 50 KB values under a 2 MiB cap reads them all, forward and back', async () => {
    const s = await openFilled();
    for (const reverse of [false, true]) {
      const bound = cacheBound(s);
      let count = 0;
      for (const [k, v] of s.all({ reverse })) {
        expect(v).toBe(big(Number(k.slice(3))));
        count++;
        expect(s.stats().blockCache.bytes).toBeLessThanOrEqual(bound);
      }
      expect(count).toBe(N);
    }
    await s.close();
  }, 60_000);
  // Before: get_many kept every block its lookups read until it returned, so a getAll whose
  // keys missed the cache failed OUT_OF_MEMORY where each get succeeded.
  it('getAll of every key (15 MB of values) answers as get does, in calls that each read a bounded share', async () => {
    const s = await openFilled();
    const keys = Array.from({ length: N }, (_, i) => key((i * 7) % N)).concat(['absent']);
    const bound = cacheBound(s);
    const got = s.getAll(keys);
    expect(s.stats().blockCache.bytes).toBeLessThanOrEqual(bound);
    expect(got.length).toBe(N + 1);
    for (let i = 0; i < N; i++) expect(got[i]).toBe(big((i * 7) % N));
    expect(got[N]).toBeUndefined();
    await s.close();
  }, 60_000);
  it('a scan past hundreds of deleted 50 KB values pauses between calls and finds the one left', async () => {
    const s = await openFilled();
    s.put('zzz', 'last');
    for (let i = 0; i < N; i++) s.delete(key(i)); // tombstones in memory, the values in files
    for (const reverse of [false, true]) {
      const bound = cacheBound(s);
      expect([...s.all({ reverse })]).toEqual([['zzz', 'last']]);
      expect(s.stats().blockCache.bytes).toBeLessThanOrEqual(bound);
    }
    await s.close();
  }, 60_000);
});

describe('an in-memory store at its cap can shrink', () => {
  // Before: at the cap delete, deleteAll, flush() and compact() all threw OUT_OF_MEMORY.
  it('deletes, flush() and compact() succeed after puts are refused, and free memory', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, maxMemoryBytes: 2 << 20 });
    const n = fillToRefusal(s, 1_000_000);
    expect(n).toBeGreaterThan(1000);
    const full = s.stats().engineBytes;
    s.delete(key(0));
    s.deleteAll([key(1), key(2), key(3)]);
    await s.flush();
    // Delete everything, compacting whenever the delete reserve is used up.
    let d = 4;
    for (let rounds = 0; d < n; rounds++) {
      expect(rounds).toBeLessThan(100);
      try {
        for (; d < n; d++) s.delete(key(d));
      } catch (err) {
        expect(codeOf(err)).toBe('OUT_OF_MEMORY');
      }
      await s.compact(); // never refused in memory: writes leave it room
    }
    await s.compact();
    expect([...s.all()]).toEqual([]);
    expect(s.stats().engineBytes).toBeLessThan(full / 4);
    s.put('again', 'fine'); // room for puts again
    expect(s.get('again')).toBe('fine');
    await s.close();
  });

  // Found when the model tests began to check getAll too: getAll's value pack outlives its
  // call, and it grew into the room kept for flush and compaction, so compact() at the cap
  // was refused OUT_OF_MEMORY. Now the pack grows only into room a write would leave.
  // Before: the argument region grew for a large put at the cap and stayed that size after
  // the put was refused, so compact() was then refused too (a 300 KB value under 1 MiB).
  it('a refused large put leaves compact(), flush() and deletes their room', async () => {
    for (const big of [100_000, 300_000, 500_000]) {
      for (const next of ['compact', 'flush', 'delete'] as const) {
        const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, maxMemoryBytes: 1 << 20, memtableBytes: 1 << 16, blockBytes: 1024 });
        const v20 = (i: number) => `${i}`.padEnd(20_000, '.');
        let n = 0;
        try { for (; n < 100; n++) s.put(key(n), v20(n)); } catch (err) { expect(codeOf(err)).toBe('OUT_OF_MEMORY'); }
        expect(() => s.put('big', 'x'.repeat(big))).toThrow(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
        if (next === 'compact') await s.compact();
        else if (next === 'flush') await s.flush();
        else for (let i = 0; i < n; i++) s.delete(key(i));
        await s.compact();
        expect(s.get(key(0))).toBe(next === 'delete' ? undefined : v20(0));
        await s.close();
      }
    }
  });
  // Before: a get of a key with merge operands keeps the chain it gathered and the chain's
  // image past its call, and at the cap they took compact()'s room.
  it('a get of merged values at the cap leaves compact() its room', async () => {
    const s = await Store.open<string, Uint8Array>({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, maxMemoryBytes: 1 << 20, memtableBytes: 1 << 16, blockBytes: 1024 });
    for (let i = 0; i < 4; i++) s.merge('m', new Uint8Array(20_000).fill(i), 'append');
    let n = 0;
    try { for (; n < 100; n++) s.put(key(n), new Uint8Array(20_000).fill(n)); } catch (err) { expect(codeOf(err)).toBe('OUT_OF_MEMORY'); }
    expect(n).toBeLessThan(100);
    const folded = s.get('m')!;
    expect(folded.length).toBe(80_000);
    for (let i = 0; i < 4; i++) expect(folded[i * 20_000]).toBe(i);
    await s.compact();
    expect(s.get('m')).toEqual(folded);
    await s.close();
  });
  it('getAll at the cap leaves compact() its room', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, maxMemoryBytes: 1 << 20, memtableBytes: 1 << 16, blockBytes: 1024 });
    let n = 0;
    try { for (; n < 100; n++) s.put(key(n), `${n}`.padEnd(20_000, '.')); } catch (err) { expect(codeOf(err)).toBe('OUT_OF_MEMORY'); }
    const keys = Array.from({ length: n }, (_, i) => key(i));
    // Batches of falling size (keys repeated): the pack takes the largest room memory lets it.
    for (let r = 4; r >= 1; r--) {
      const batch = Array.from({ length: r * n }, (_, i) => key(i % n));
      expect(s.getAll(batch)).toEqual(batch.map((_, i) => `${i % n}`.padEnd(20_000, '.')));
    }
    await s.compact();
    await s.flush();
    expect(s.getAll(keys).length).toBe(n);
    await s.close();
  });
});

// ---- the property ------------------------------------------------------------------------

interface Real { store: Store; options: StoreOptions<Uint8Array, Uint8Array>; refusedLast: boolean }
type Cmd = fc.AsyncCommand<SortedModel, Real>;
const seen = { refusedPuts: 0, deletesAfterRefusal: 0, deletesRefused: 0, shrankAfterRefusal: 0, compactRefused: 0, reopens: 0 };

const KEYS = Array.from({ length: 40 }, (_, i) => new Uint8Array(Buffer.from(`k${String((i * 13) % 40).padStart(2, '0')}`)));
const keyArb = fc.constantFrom(...KEYS);
const smallOrLarge = [
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(50_000).fill(b)) },
];
/** The values the replays below were found with (a seed replays only with its arbitraries). */
const valuesBefore = fc.oneof(...smallOrLarge);
const values = fc.oneof(
  ...smallOrLarge,
  // A third of the cap: refused near it, after growing the argument region it came in.
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(300_000).fill(b)) },
);

/** Reads as the model, and scans back to front too: with 50 KB values in 1 KiB-block runs
 *  on disk, a scan's calls pause after 64 KiB of blocks (READ_CALL_BYTES), in either
 *  direction, between versions they must not lose. */
const check = (m: SortedModel, r: Real) => {
  expectStoreMatches(r.store, m, KEYS);
  sameEntries([...r.store.all({ reverse: true })] as [Uint8Array, Uint8Array][], m.range().reverse());
};

/** Runs a write: it succeeds (then the model follows) or is refused OUT_OF_MEMORY (then the
 *  store reads as before). */
function write(m: SortedModel, r: Real, isPut: boolean, run: () => void, apply: () => void): void {
  try {
    run();
  } catch (err) {
    expect(codeOf(err)).toBe('OUT_OF_MEMORY');
    // Deletes may use the reserve puts leave: right after a refused put one is always taken.
    if (!isPut) seen.deletesRefused++;
    if (isPut) { r.refusedLast = true; seen.refusedPuts++; }
    check(m, r);
    return;
  }
  if (!isPut && r.refusedLast) seen.deletesAfterRefusal++;
  r.refusedLast = false;
  apply();
}

const cmd = (name: string, run: (m: SortedModel, r: Real) => void | Promise<void>): Cmd => ({
  check: () => true, run: async (m, r) => { await run(m, r); }, toString: () => name,
});

const commandsWith = (valueArb: fc.Arbitrary<Uint8Array>) => [
  fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)}, ${v.length}B)`, (m, r) => write(m, r, true, () => r.store.put(k, v), () => m.put(k, v)))),
  fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)}, ${v.length}B)`, (m, r) => write(m, r, true, () => r.store.put(k, v), () => m.put(k, v)))),
  fc.array(fc.tuple(keyArb, valueArb), { minLength: 1, maxLength: 6 }).map((es) => cmd(`putAll(${es.length})`, (m, r) =>
    write(m, r, true, () => r.store.putAll(es), () => { for (const [k, v] of es) m.put(k, v); }))),
  keyArb.map((k) => cmd(`delete(${hex(k)})`, (m, r) => write(m, r, false, () => r.store.delete(k), () => m.delete(k)))),
  fc.array(keyArb, { minLength: 1, maxLength: 8 }).map((ks) => cmd(`deleteAll(${ks.length})`, (m, r) =>
    write(m, r, false, () => r.store.deleteAll(ks), () => { for (const k of ks) m.delete(k); }))),
  fc.constant(cmd('flush', async (m, r) => {
    await r.store.flush(); // never refused: writes leave the room it needs
    check(m, r);
  })),
  fc.constant(cmd('compact', async (m, r) => {
    const before = r.store.stats().engineBytes;
    try {
      await r.store.compact();
      if (r.refusedLast && r.store.stats().engineBytes < before) seen.shrankAfterRefusal++;
    } catch (err) {
      // In memory writes leave compact() its room; with a directory it may be refused.
      if (r.options.path === undefined) throw err;
      expect(codeOf(err)).toBe('OUT_OF_MEMORY');
      seen.compactRefused++;
    }
    check(m, r);
  })),
  fc.constant(cmd('reopen', async (m, r) => {
    if (r.options.path === undefined) return;
    await r.store.close();
    r.store = await Store.open(r.options); // the same options: never refused
    seen.reopens++;
    check(m, r);
  })),
];

async function runModel(options: StoreOptions<Uint8Array, Uint8Array>, onDisk: boolean, numRuns: number, replay: object = {}, valueArb = values): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.commands(commandsWith(valueArb), { maxCommands: 80, size: 'large' }), async (cmds) => {
      const opts = onDisk ? { ...options, path: tempDir() } : options;
      const real: Real = { store: await Store.open(opts), options: opts, refusedLast: false };
      try {
        await fc.asyncModelRun(() => ({ model: new SortedModel(), real }), cmds);
        expect(real.store.stats().engineBytes).toBeLessThanOrEqual(options.maxMemoryBytes!);
      } finally {
        await real.store.close();
      }
    }),
    { numRuns, endOnFailure: true, ...replay },
  );
}

describe('a capped store against a sorted Map model (fc.commands)', () => {
  const CAPPED = { memtableBytes: 1 << 16, blockBytes: 1024, maxMemoryBytes: 1 << 20 };
  it('in memory, 1 MiB cap: refused writes change nothing; flush and compact are never refused (60 sequences)', async () => {
    const before = { ...seen };
    await runModel(CAPPED, false, 60);
    expect(seen.refusedPuts - before.refusedPuts).toBeGreaterThan(20);
    expect(seen.deletesAfterRefusal - before.deletesAfterRefusal).toBeGreaterThan(5);
    expect(seen.shrankAfterRefusal - before.shrankAfterRefusal).toBeGreaterThan(5);
  }, 240_000);
  it('on disk, 1 MiB cap: the same, flush and reopen never refused, compact may be (40 sequences)', async () => {
    const before = { ...seen };
    await runModel(CAPPED, true, 40);
    expect(seen.refusedPuts - before.refusedPuts).toBeGreaterThan(5);
    expect(seen.reopens - before.reopens).toBeGreaterThan(20);
  }, 240_000);
  // Found by the property above in CI (unseeded): after this sequence an iteration was
  // refused OUT_OF_MEMORY under the 1 MiB cap on disk. One batch of iter_next read nine
  // 50 KB blocks into the cache and copied their values into its batch: blocks read in a
  // call stay until it returns, so the call needed more than the read reserve. Now a call
  // stops after READ_CALL_BYTES of blocks or copies, and near the cap a safe point empties
  // the cache.
  it('replay: a scan of large values right after a refused put (seed -1393797824, path 18)', async () => {
    await runModel(CAPPED, true, 1, { seed: -1393797824, path: '18' }, valuesBefore);
  }, 240_000);
});
