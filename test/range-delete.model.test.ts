// Model-based test of range deletions (docs/LSM.md, "Range deletions"): random sequences of
// put, delete and deleteRange interleaved with get, range (both directions), iterators opened
// now and read later, snapshots, flush, compact and (on disk) reopen, against SortedModel (a
// sorted Map + sequence counter) where deleteRange removes every key in [from, to) and takes
// one sequence number. Memtables of a few hundred bytes make flushes and compactions happen
// constantly, so tombstones meet the entries they cover in the memtable, in level 0 and in
// deeper levels, are cut across output runs, and are dropped at the bottom only when no
// snapshot can still see what they hide.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, type KeyValueIterator, type Snapshot, type StoreOptions } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';
import { sameEntries as same, expectStoreMatches, stepMatches } from './support/expect-model.js';

/** What the runs exercised: the properties must really have hidden keys, and compacted. */
const seen = { rangeDeletes: 0, keysHidden: 0, compactions: 0, commands: 0, deepest: 0 };

/** The model's deleteRange: every key in [from, to) goes; one sequence number. */
function modelDeleteRange(m: SortedModel, from: Uint8Array, to: Uint8Array): void {
  m.seq++;
  seen.rangeDeletes++;
  const lo = hex(from), hi = hex(to);
  for (const k of [...m.map.keys()]) if (k >= lo && k < hi) { m.map.delete(k); seen.keysHidden++; }
}

interface Real {
  store: Store;
  iterators: { it: KeyValueIterator<Uint8Array, Uint8Array>; expected: [Uint8Array, Uint8Array][]; pos: number }[];
  snapshots: { snap: Snapshot<Uint8Array, Uint8Array>; model: SortedModel }[];
}
type Cmd = fc.AsyncCommand<SortedModel, Real>;

const HEX_KEYS = ['', '00', '61', '6161', '616100', '6162', '62', '6261', 'ff', 'ffff',
  ...Array.from({ length: 30 }, (_, i) => (0x70 + i).toString(16))];
const KEYS = HEX_KEYS.sort().map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const LAST = KEYS[KEYS.length - 1];
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 60, maxLength: 120 }) },
);
const optsArb = fc.record({ reverse: fc.boolean(), limit: fc.option(fc.nat(6), { nil: undefined }) });

const cmd = (name: string, run: (m: SortedModel, r: Real) => void | Promise<void>): Cmd => ({
  check: () => true, run: async (m, r) => { seen.commands++; await run(m, r); }, toString: () => name,
});

/** Every command; `compact` (compact(), which merges every level into one) only when asked:
 *  without it the automatic compactions alone shape the tree, several levels deep. */
function commands(reopen?: () => Promise<Store>, withCompact = true): fc.Arbitrary<Cmd>[] {
  const list: fc.Arbitrary<Cmd>[] = [
    fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)})`, (m, r) => { r.store.put(k, v); m.put(k, v); })),
    fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 }).map((es) => cmd(`putAll(${es.length})`, (m, r) => {
      r.store.putAll(es);
      for (const [k, v] of es) m.put(k, v);
    })),
    keyArb.map((k) => cmd(`delete(${hex(k)})`, (m, r) => { r.store.delete(k); m.delete(k); })),
    // Weighted up: several range tombstones, overlapping each other, per sequence.
    ...[0, 1].map(() => fc.tuple(keyArb, keyArb).map(([a, b]) => cmd(`deleteRange(${hex(a)}, ${hex(b)})`, (m, r) => {
      const c = Buffer.compare(a, b);
      if (c > 0) {
        expect(() => r.store.deleteRange(a, b)).toThrow(StrataError);
        return;
      }
      r.store.deleteRange(a, b);
      if (c < 0) modelDeleteRange(m, a, b);
    }))),
    keyArb.map((k) => cmd(`get(${hex(k)})`, (m, r) => {
      const got = r.store.get(k);
      const e = m.get(k);
      expect(got === undefined ? undefined : hex(got)).toBe(e === undefined ? undefined : hex(e.value));
      // A key's version is the sequence of its last write, hidden or not.
      if (e !== undefined) expect(r.store.getVersioned(k)!.version).toBe(e.version);
    })),
    // Batches of keys (repeats and absent keys among them) read with one getAll: each answer
    // as its own get would be, in the order asked.
    fc.array(keyArb, { maxLength: 24 }).map((ks) => cmd(`getAll(${ks.map(hex)})`, (m, r) => {
      const got = r.store.getAll(ks).map((v) => (v === undefined ? undefined : hex(v)));
      expect(got).toEqual(ks.map((k) => { const e = m.get(k); return e === undefined ? undefined : hex(e.value); }));
    })),
    fc.tuple(keyArb, keyArb, optsArb).map(([a, b, o]) => cmd(`range(${hex(a)}, ${hex(b)}, ${JSON.stringify(o)})`, (m, r) => {
      same([...r.store.range(a, b, o)], m.range(a, b, o.reverse, o.limit));
    })),
    optsArb.map((o) => cmd(`all(${JSON.stringify(o)})`, (m, r) => {
      same([...r.store.all(o)], m.range(undefined, undefined, o.reverse, o.limit));
    })),
    fc.tuple(fc.option(fc.tuple(keyArb, keyArb), { nil: undefined }), optsArb).map(([b, o]) =>
      cmd(`openIterator(${b ? b.map(hex) : 'all'}, ${JSON.stringify(o)})`, (m, r) => {
        if (r.iterators.length >= 3) r.iterators.shift()!.it.close();
        const it = b ? r.store.range(b[0], b[1], o) : r.store.all(o);
        const expected = b ? m.range(b[0], b[1], o.reverse, o.limit) : m.range(undefined, undefined, o.reverse, o.limit);
        r.iterators.push({ it, expected, pos: 0 });
      })),
    fc.tuple(fc.nat(4), fc.integer({ min: 1, max: 4 })).map(([which, n]) => cmd(`stepIterator(${which}, ${n})`, (_m, r) => {
      if (r.iterators.length === 0) return;
      stepMatches(r.iterators[which % r.iterators.length], n);
    })),
    fc.constant(cmd('takeSnapshot', (m, r) => {
      if (r.snapshots.length >= 3) r.snapshots.shift()!.snap.close();
      r.snapshots.push({ snap: r.store.snapshot(), model: m.clone() });
    })),
    fc.constant(cmd('releaseSnapshot', (_m, r) => { r.snapshots.shift()?.snap.close(); })),
    fc.tuple(fc.nat(4), keyArb, optsArb).map(([which, k, o]) => cmd(`readSnapshot(${which}, ${hex(k)})`, (_m, r) => {
      if (r.snapshots.length === 0) return;
      const { snap, model } = r.snapshots[which % r.snapshots.length];
      const e = model.get(k);
      const got = snap.get(k);
      expect(got === undefined ? undefined : hex(got)).toBe(e === undefined ? undefined : hex(e.value));
      // Every key in one batch as of the snapshot, k repeated: what deletes and range
      // deletions since it was taken hide must still be there.
      const ks = [k, ...KEYS, k];
      expect(snap.getAll(ks).map((v) => (v === undefined ? undefined : hex(v))))
        .toEqual(ks.map((x) => { const f = model.get(x); return f === undefined ? undefined : hex(f.value); }));
      same([...snap.all(o)], model.range(undefined, undefined, o.reverse, o.limit));
      same([...snap.range(k, LAST, o)], model.range(k, LAST, o.reverse, o.limit));
    })),
    fc.constant(cmd('flush', async (m, r) => { await r.store.flush(); expectStoreMatches(r.store, m, KEYS); })),
  ];
  if (withCompact) list.push(fc.constant(cmd('compact', async (m, r) => { await r.store.compact(); expectStoreMatches(r.store, m, KEYS); })));
  if (reopen !== undefined) {
    list.push(fc.constant(cmd('reopen', async (m, r) => {
      for (const s of r.snapshots) s.snap.close();
      for (const s of r.iterators) s.it.close();
      r.iterators = [];
      r.snapshots = [];
      await r.store.close();
      r.store = await reopen();
      expectStoreMatches(r.store, m, KEYS);
      // Sequences go on from the last write (a range deletion's included).
      r.store.put(KEYS[1], new Uint8Array([9]));
      m.put(KEYS[1], new Uint8Array([9]));
      expect(r.store.getVersioned(KEYS[1])!.version).toBe(m.seq);
    })));
  }
  return list;
}

const TINY: StoreOptions<Uint8Array, Uint8Array> = {
  memtableBytes: 256, blockBytes: 64, runTargetBytes: 512, levelBaseBytes: 1024,
  levelSizeMultiplier: 2, level0CompactionTrigger: 2,
};

const dirs: string[] = [];
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  expect(seen.keysHidden).toBeGreaterThan(500);
  expect(seen.compactions).toBeGreaterThan(100);
  expect(seen.deepest).toBeGreaterThanOrEqual(3);
});

async function finish(m: SortedModel, r: Real): Promise<void> {
  expectStoreMatches(r.store, m, KEYS);
  seen.compactions += r.store.stats().counters.compactions;
  for (const s of r.snapshots) s.snap.close();
  for (const s of r.iterators) s.it.close();
  await r.store.close();
}

describe('deleteRange against a sorted-map model', () => {
  it('in memory, with flushes, compactions, snapshots and iterators', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands(), { maxCommands: 120, size: 'max' }), async (cmds) => {
      const m = new SortedModel();
      const r: Real = { store: await Store.open(TINY), iterators: [], snapshots: [] };
      await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
      await finish(m, r);
    }), { numRuns: 150 });
  }, 120_000);

  // Range tombstones reach keys of runs beside the ones their own run overlaps: compaction
  // must pick those runs as inputs (run.ts spans), or a tombstone dropped at the bottom
  // would leave entries it covered alive in a sibling run.
  it('with automatic compactions only, several levels deep', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands(undefined, false), { maxCommands: 250, size: 'max' }), async (cmds) => {
      const m = new SortedModel();
      const r: Real = { store: await Store.open(TINY), iterators: [], snapshots: [] };
      await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
      const levels = r.store.stats().levels;
      for (let l = levels.length - 1; l > seen.deepest; l--) if (levels[l].runs > 0) { seen.deepest = l; break; }
      await finish(m, r);
    }), { numRuns: 150 });
  }, 180_000);

  it('on disk, with reopen: tombstones survive flush, run files and the log', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands(() => Store.open({ ...TINY, path })), { maxCommands: 80, size: 'max' }), async (cmds) => {
      path = mkdtempSync(join(scratch, 'strata-rangedel-'));
      dirs.push(path);
      const m = new SortedModel();
      const r: Real = { store: await Store.open({ ...TINY, path }), iterators: [], snapshots: [] };
      await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
      await finish(m, r);
    }), { numRuns: 60 });
  }, 180_000);
});
let path = '';
