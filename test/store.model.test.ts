// Model-based test of the engine core: random sequences of every Store method, run against
// a Store and against SortedModel (a plain Map + sequence counter), compared after every
// step. Memtables of a few hundred bytes make flushes and compactions happen constantly, so
// reads cross the memtable, level 0 and deeper levels; open iterators and snapshots must keep
// seeing the state of their creation through all of it.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, type KeyValueIterator, type Snapshot, type StoreOptions } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';
import { sameEntries, expectStoreMatches } from './support/expect-model.js';

interface Real {
  store: Store;
  /** With a small maxMemoryBytes, writes may be refused: then nothing may have changed. */
  mayRunOutOfMemory: boolean;
  iterators: { it: KeyValueIterator<Uint8Array, Uint8Array>; expected: [Uint8Array, Uint8Array][]; pos: number }[];
  snapshots: { snap: Snapshot<Uint8Array, Uint8Array>; model: SortedModel }[];
}
type Cmd = fc.AsyncCommand<SortedModel, Real>;

// Keys that are prefixes of each other, the empty key, 0x00 and 0xff edges; and, less
// often, forty plain keys, so that scans outgrow one iterator batch (16 entries at first).
const EDGE_KEYS = ['', '00', '61', '6161', '616100', '6162', '62', '6261', 'ff', 'ffff'];
const PLAIN_KEYS = Array.from({ length: 40 }, (_, i) => (0x70 + i).toString(16));
const KEYS = [...EDGE_KEYS, ...PLAIN_KEYS].sort().map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const keyOf = (h: string) => KEYS.find((k) => hex(k) === h)!;
const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_KEYS.map(keyOf)) },
  { weight: 2, arbitrary: fc.constantFrom(...PLAIN_KEYS.map(keyOf)) },
);
const valueMix = (bigWeight: number) => fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 24 }) },
  { weight: bigWeight, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(70_000).fill(b)) },
);
const rangeOptsArb = fc.record({ reverse: fc.boolean(), limit: fc.option(fc.nat(6), { nil: undefined }) });

const same = sameEntries;

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe(code);
    return;
  }
  throw new Error(`expected StrataError ${code}`);
}

/** Runs a write; applies it to the model unless the engine refused it for memory. */
function mutate(r: Real, write: () => void, apply: () => void): void {
  try {
    write();
  } catch (err) {
    if (r.mayRunOutOfMemory && err instanceof StrataError && err.code === 'OUT_OF_MEMORY') { refusedWrites++; return; }
    throw err;
  }
  apply();
}
let refusedWrites = 0;

/** Flush or compaction, which may be refused for memory (and must then change nothing). */
async function maintain(r: Real, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(r.mayRunOutOfMemory && err instanceof StrataError && err.code === 'OUT_OF_MEMORY')) throw err;
  }
}

/** Re-reads every key of the alphabet and the whole ordered content. */
function checkAll(m: SortedModel, r: Real): void {
  expectStoreMatches(r.store, m, KEYS);
}

const cmd = (name: string, check: (m: SortedModel) => boolean, run: (m: SortedModel, r: Real) => void | Promise<void>): Cmd => ({
  check,
  run: async (m, r) => { await run(m, r); },
  toString: () => name,
});
const always = () => true;

/** Every Store method as a command; `valueArb` sets the mix of value sizes. With `reopen`
 *  (stores with a path), also closing and reopening the store. */
function commandArbsWith(valueArb: fc.Arbitrary<Uint8Array>, reopen?: () => Promise<Store>) {
  const extra = reopen === undefined ? [] : [fc.constant(cmd('reopen', always, async (m, r) => {
    // Iterators and snapshots end with their store; what was written must all come back.
    for (const s of r.snapshots) s.snap.close();
    r.iterators = [];
    r.snapshots = [];
    await r.store.close();
    r.store = await reopen();
    checkAll(m, r);
  }))];
  return [
  ...extra,
  fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)}, ${v.length}B)`, always, (m, r) => {
    mutate(r, () => r.store.put(k, v), () => m.put(k, v));
  })),
  keyArb.map((k) => cmd(`delete(${hex(k)})`, always, (m, r) => mutate(r, () => r.store.delete(k), () => m.delete(k)))),
  fc.array(fc.tuple(keyArb, valueArb), { maxLength: 6 }).map((es) => cmd(`putAll(${es.length})`, always, (m, r) => {
    mutate(r, () => r.store.putAll(es), () => { for (const [k, v] of es) m.put(k, v); });
  })),
  fc.array(keyArb, { maxLength: 4 }).map((ks) => cmd(`deleteAll(${ks.map(hex)})`, always, (m, r) => {
    mutate(r, () => r.store.deleteAll(ks), () => { for (const k of ks) m.delete(k); });
  })),
  fc.array(fc.oneof(
    fc.tuple(keyArb, valueArb).map(([key, value]) => ({ type: 'put' as const, key, value })),
    keyArb.map((key) => ({ type: 'del' as const, key })),
  ), { maxLength: 6 }).map((ops) => cmd(`write(${ops.map((o) => o.type + ':' + hex(o.key))})`, always, (m, r) => {
    mutate(r, () => r.store.write(ops), () => { for (const o of ops) if (o.type === 'put') m.put(o.key, o.value); else m.delete(o.key); });
  })),
  keyArb.map((k) => cmd(`get(${hex(k)})`, always, (m, r) => {
    const got = r.store.get(k);
    const e = m.get(k);
    expect(got === undefined ? undefined : hex(got)).toBe(e === undefined ? undefined : hex(e.value));
    expect(r.store.has(k)).toBe(e !== undefined);
  })),
  fc.array(keyArb, { maxLength: 5 }).map((ks) => cmd(`getAll(${ks.map(hex)})`, always, (m, r) => {
    const got = r.store.getAll(ks).map((v) => (v === undefined ? undefined : hex(v)));
    expect(got).toEqual(ks.map((k) => { const e = m.get(k); return e === undefined ? undefined : hex(e.value); }));
  })),
  fc.tuple(keyArb, keyArb, rangeOptsArb).map(([a, b, o]) => cmd(`range(${hex(a)}, ${hex(b)}, ${JSON.stringify(o)})`, always, (m, r) => {
    same([...r.store.range(a, b, o)], m.range(a, b, o.reverse, o.limit));
  })),
  rangeOptsArb.map((o) => cmd(`all(${JSON.stringify(o)})`, always, (m, r) => {
    same([...r.store.all(o)], m.range(undefined, undefined, o.reverse, o.limit));
  })),
  fc.tuple(keyArb, valueArb, fc.constantFrom('current', 'absent', 'stale')).map(([k, v, how]) =>
    cmd(`putIfVersion(${hex(k)}, ${how})`, always, (m, r) => {
      const cur = m.version(k);
      const expected = how === 'current' ? cur : how === 'absent' ? 0 : cur + 1;
      mutate(r, () => expect(r.store.putIfVersion(k, v, expected)).toBe(expected === cur), () => { if (expected === cur) m.put(k, v); });
    })),
  fc.tuple(keyArb, fc.constantFrom('current', 'stale')).map(([k, how]) =>
    cmd(`deleteIfVersion(${hex(k)}, ${how})`, always, (m, r) => {
      const cur = m.version(k);
      const expected = how === 'current' ? cur : cur + 3;
      mutate(r, () => expect(r.store.deleteIfVersion(k, expected)).toBe(expected === cur), () => { if (expected === cur) m.delete(k); });
    })),
  fc.constant(cmd('flush', always, async (m, r) => { await maintain(r, () => r.store.flush()); checkAll(m, r); })),
  fc.constant(cmd('compact', always, async (m, r) => { await maintain(r, () => r.store.compact()); checkAll(m, r); })),
  // An iterator opened now must yield exactly the entries of now, however far it is read later.
  fc.tuple(fc.option(fc.tuple(keyArb, keyArb), { nil: undefined }), rangeOptsArb).map(([bounds, o]) =>
    cmd(`openIterator(${bounds ? bounds.map(hex) : 'all'}, ${JSON.stringify(o)})`, always, (m, r) => {
      if (r.iterators.length >= 3) { r.iterators.shift()!.it.close(); }
      const it = bounds ? r.store.range(bounds[0], bounds[1], o) : r.store.all(o);
      const expected = bounds ? m.range(bounds[0], bounds[1], o.reverse, o.limit) : m.range(undefined, undefined, o.reverse, o.limit);
      r.iterators.push({ it, expected, pos: 0 });
    })),
  fc.tuple(fc.nat(4), fc.integer({ min: 1, max: 3 })).map(([which, n]) => cmd(`stepIterator(${which}, ${n})`, always, (_m, r) => {
    if (r.iterators.length === 0) return;
    const s = r.iterators[which % r.iterators.length];
    for (let i = 0; i < n; i++) {
      const res = s.it.next();
      if (s.pos >= s.expected.length) { expect(res.done).toBe(true); break; }
      expect(res.done).toBe(false);
      same([res.value as [Uint8Array, Uint8Array]], [s.expected[s.pos++]]);
    }
  })),
  fc.constant(cmd('takeSnapshot', always, (m, r) => {
    if (r.snapshots.length >= 3) r.snapshots.shift()!.snap.close();
    r.snapshots.push({ snap: r.store.snapshot(), model: m.clone() });
  })),
  fc.tuple(fc.nat(4), keyArb, rangeOptsArb).map(([which, k, o]) => cmd(`readSnapshot(${which}, ${hex(k)})`, always, (_m, r) => {
    if (r.snapshots.length === 0) return;
    const { snap, model } = r.snapshots[which % r.snapshots.length];
    const e = model.get(k);
    const got = snap.get(k);
    expect(got === undefined ? undefined : hex(got)).toBe(e === undefined ? undefined : hex(e.value));
    expect(snap.has(k)).toBe(e !== undefined);
    same([...snap.all(o)], model.range(undefined, undefined, o.reverse, o.limit));
    same([...snap.range(k, KEYS[KEYS.length - 1], o)], model.range(k, KEYS[KEYS.length - 1], o.reverse, o.limit));
  })),
  // Bad input must fail with the right code and change nothing (checked by later reads).
  fc.constantFrom('bigKey', 'badType', 'badBatch', 'badVersion', 'badRange').map((what) => cmd(`bad(${what})`, always, (m, r) => {
    const s = r.store;
    if (what === 'bigKey') expectCode(() => s.put(new Uint8Array(65_536), new Uint8Array(1)), 'KEY_TOO_LARGE');
    if (what === 'badType') expectCode(() => s.put('text' as unknown as Uint8Array, new Uint8Array(1)), 'INVALID_ARGUMENT');
    if (what === 'badBatch') {
      expectCode(() => s.putAll([[KEYS[1], new Uint8Array(1)], [new Uint8Array(65_536), new Uint8Array(0)]]), 'KEY_TOO_LARGE');
      expectCode(() => s.write([{ type: 'put', key: KEYS[2], value: new Uint8Array(2) }, { type: 'nope' } as never]), 'INVALID_ARGUMENT');
    }
    if (what === 'badVersion') expectCode(() => s.putIfVersion(KEYS[1], new Uint8Array(1), -1), 'INVALID_ARGUMENT');
    if (what === 'badRange') expectCode(() => s.all({ limit: -2 }), 'INVALID_ARGUMENT');
    checkAll(m, r);
  })),
];
}

const TINY: StoreOptions<Uint8Array, Uint8Array> = {
  memtableBytes: 256, blockBytes: 64, runTargetBytes: 512, levelBaseBytes: 1024,
  levelSizeMultiplier: 2, level0CompactionTrigger: 2,
};

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Totals over the file-backed runs: the test must really have read blocks from files. */
const fileReads = { runs: 0, misses: 0 };

/** With `onDisk`, each sequence gets a fresh directory and may reopen the store. */
async function runModel(options: StoreOptions<Uint8Array, Uint8Array>, numRuns: number, bigValueWeight = 1, onDisk = false) {
  const commands = (open: () => Promise<Store>) => commandArbsWith(valueMix(bigValueWeight), onDisk ? open : undefined);
  let path: string | undefined;
  const open = () => Store.open({ ...options, path });
  await fc.assert(
    fc.asyncProperty(fc.commands(commands(open), { maxCommands: 80, size: 'medium' }), async (cmds) => {
      if (onDisk) { path = mkdtempSync(join(tmpdir(), 'strata-model-')); dirs.push(path); }
      const real: Real = { store: await open(), iterators: [], snapshots: [], mayRunOutOfMemory: options.maxMemoryBytes !== undefined };
      try {
        await fc.asyncModelRun(() => ({ model: new SortedModel(), real }), cmds);
        // Every iterator still open must yield the rest of what it saw at creation.
        for (const s of real.iterators) same([...s.it], s.expected.slice(s.pos));
        for (const s of real.snapshots) s.snap.close();
        const st = real.store.stats();
        expect(st.iterators).toBe(0);
        fileReads.runs += st.fileBackedRuns;
        fileReads.misses += st.blockCache.misses;
      } finally {
        await real.store.close();
        if (path) rmSync(path, { recursive: true, force: true });
      }
    }),
    { numRuns, endOnFailure: true },
  );
}

describe('Store against a sorted Map model (fc.commands)', () => {
  it('tiny memtable and levels: constant flushes and compactions (600 sequences)', async () => {
    await runModel(TINY, 600);
  });
  it('no automatic compaction: level 0 grows, compact() merges all (200 sequences)', async () => {
    await runModel({ ...TINY, autoCompaction: false }, 200);
  });
  it('bloom filters off and one-entry blocks (200 sequences)', async () => {
    await runModel({ ...TINY, bloomBitsPerKey: 0, blockBytes: 64, level0CompactionTrigger: 1 }, 200);
  });
  it('a 1 MiB memory cap with a large memtable: refused writes change nothing (150 sequences)', async () => {
    const before = refusedWrites;
    await runModel({ ...TINY, memtableBytes: 1 << 19, maxMemoryBytes: 1 << 20 }, 150, 6);
    expect(refusedWrites - before).toBeGreaterThan(20); // the cap was really reached, often
  });
  it('default tuning: everything in the memtable (100 sequences)', async () => {
    await runModel({}, 100);
  });
  it('on disk with a block cache of nothing: every block read from its file, reopens (250 sequences)', async () => {
    // blockCacheBytes 0: every safe point evicts every unpinned block, so any pointer kept
    // into a block past a safe point reads freed memory and fails the comparison.
    const before = { ...fileReads };
    await runModel({ ...TINY, blockCacheBytes: 0 }, 250, 1, true);
    expect(fileReads.runs - before.runs).toBeGreaterThan(100);
    expect(fileReads.misses - before.misses).toBeGreaterThan(1000);
  });
});
