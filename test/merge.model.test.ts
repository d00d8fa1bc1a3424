// Model-based test of merge operators (docs/LSM.md, "Merge operators"): random sequences of
// merge (two operators, one order-sensitive) interleaved with put, delete, deleteRange,
// conditional writes, get, getAll, range (both directions), iterators opened now and read
// later, snapshots, flush, compact and (on disk) reopen, against SortedModel where a merge
// folds its operand into the key's value at once and takes one sequence number (the key's
// version). Memtables of a few hundred bytes make flushes and compactions constant, so
// operands meet their bases in the memtable, across runs and levels, under snapshots that
// keep compaction from folding, and at the bottom where nothing is below them.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, MemoryChangelog, StrataError, type KeyValueIterator, type Snapshot, type StoreOptions } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';
import { sameEntries as same, expectStoreMatches, stepMatches } from './support/expect-model.js';

const seen = { merges: 0, tailCalls: 0, commands: 0, presentReads: 0 };

/** An order-sensitive operator: the last 12 bytes of existing ++ operand. */
const tail = (existing: Uint8Array | undefined, operand: Uint8Array): Uint8Array => {
  seen.tailCalls++;
  const out = new Uint8Array((existing?.length ?? 0) + operand.length);
  if (existing) out.set(existing);
  out.set(operand, existing?.length ?? 0);
  return out.slice(-12);
};
function concat(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  const out = new Uint8Array((a?.length ?? 0) + b.length);
  if (a) out.set(a);
  out.set(b, a?.length ?? 0);
  return out;
}
const OPERATORS = { tail };
/** The model's folds: the store's own `tail` and the built-in `append` (concatenation). */
const FOLD: Record<string, (e: Uint8Array | undefined, o: Uint8Array) => Uint8Array> = { tail, append: concat };

interface Real {
  store: Store;
  iterators: { it: KeyValueIterator<Uint8Array, Uint8Array>; expected: [Uint8Array, Uint8Array][]; pos: number }[];
  snapshots: { snap: Snapshot<Uint8Array, Uint8Array>; model: SortedModel }[];
}
type Cmd = fc.AsyncCommand<SortedModel, Real>;

const HEX_KEYS = ['', '00', '61', '6161', '6162', '62', 'ff', ...Array.from({ length: 12 }, (_, i) => (0x70 + i).toString(16))];
const KEYS = HEX_KEYS.sort().map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.uint8Array({ maxLength: 10 });
const operandArb = fc.uint8Array({ minLength: 1, maxLength: 4 });
const optsArb = fc.record({ reverse: fc.boolean(), limit: fc.option(fc.nat(6), { nil: undefined }) });

const cmd = (name: string, run: (m: SortedModel, r: Real) => void | Promise<void>): Cmd => ({
  check: () => true, run: async (m, r) => { seen.commands++; await run(m, r); }, toString: () => name,
});

function modelMerge(m: SortedModel, k: Uint8Array, operand: Uint8Array, name: string): void {
  m.put(k, FOLD[name](m.get(k)?.value, operand));
  seen.merges++;
}

function commands(reopen: (() => Promise<Store>) | undefined, rangeDeletes = true): fc.Arbitrary<Cmd>[] {
  const list: fc.Arbitrary<Cmd>[] = [
    // Weighted up: merges are what is tested.
    ...[0, 1, 2].map(() => fc.tuple(keyArb, operandArb, fc.constantFrom('tail', 'append')).map(([k, o, name]) =>
      cmd(`merge(${hex(k)}, ${hex(o)}, ${name})`, (m, r) => { r.store.merge(k, o, name); modelMerge(m, k, o, name); }))),
    fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)})`, (m, r) => { r.store.put(k, v); m.put(k, v); })),
    // An atomic batch of merges, puts and deletes, several on one key (with a changelog,
    // each merge folds onto the batch's own earlier writes).
    fc.array(fc.oneof(
      fc.tuple(fc.constant('merge' as const), keyArb, operandArb, fc.constantFrom('tail', 'append')),
      fc.tuple(fc.constant('put' as const), keyArb, valueArb, fc.constant('')),
      fc.tuple(fc.constant('del' as const), keyArb, valueArb, fc.constant('')),
    ), { maxLength: 6 }).map((ops) => cmd(`write(${ops.map(([t, k]) => `${t} ${hex(k)}`).join(', ')})`, (m, r) => {
      r.store.write(ops.map(([type, key, value, operator]) => (type === 'merge' ? { type, key, value, operator } : type === 'put' ? { type, key, value } : { type, key })));
      for (const [type, k, v, name] of ops) {
        if (type === 'merge') modelMerge(m, k, v, name);
        else if (type === 'put') m.put(k, v);
        else m.delete(k);
      }
    })),
    keyArb.map((k) => cmd(`delete(${hex(k)})`, (m, r) => { r.store.delete(k); m.delete(k); })),
    keyArb.map((k) => cmd(`getAndDelete(${hex(k)})`, (m, r) => {
      const got = r.store.getAndDelete(k);
      const e = m.get(k);
      expect(got === undefined ? undefined : hex(got)).toBe(e === undefined ? undefined : hex(e.value));
      if (e !== undefined) m.delete(k);
    })),
    fc.tuple(keyArb, valueArb, fc.boolean()).map(([k, v, right]) => cmd(`putIfVersion(${hex(k)}, ${right})`, (m, r) => {
      const expected = right ? m.version(k) : m.version(k) + 1;
      expect(r.store.putIfVersion(k, v, expected)).toBe(right);
      if (right) m.put(k, v);
    })),
    keyArb.map((k) => cmd(`get(${hex(k)})`, (m, r) => {
      const got = r.store.getVersioned(k);
      const e = m.get(k);
      expect(got && { v: hex(got.value), version: got.version }).toEqual(e && { v: hex(e.value), version: e.version });
      expect(r.store.has(k)).toBe(e !== undefined);
      if (e !== undefined) seen.presentReads++;
    })),
    fc.array(keyArb, { maxLength: 24 }).map((ks) => cmd(`getAll(${ks.length})`, (m, r) => {
      const got = r.store.getAll(ks);
      expect(got.map((v) => (v === undefined ? undefined : hex(v)))).toEqual(ks.map((k) => { const e = m.get(k); return e && hex(e.value); }));
    })),
    fc.tuple(keyArb, keyArb, optsArb).map(([a, b, o]) => cmd(`range(${hex(a)}, ${hex(b)}, ${JSON.stringify(o)})`, (m, r) => {
      same([...r.store.range(a, b, o)], m.range(a, b, o.reverse, o.limit));
    })),
    optsArb.map((o) => cmd(`all(${JSON.stringify(o)})`, (m, r) => { same([...r.store.all(o)], m.range(undefined, undefined, o.reverse, o.limit)); })),
    optsArb.map((o) => cmd(`openIterator(${JSON.stringify(o)})`, (m, r) => {
      if (r.iterators.length >= 3) r.iterators.shift()!.it.close();
      r.iterators.push({ it: r.store.all(o), expected: m.range(undefined, undefined, o.reverse, o.limit), pos: 0 });
    })),
    fc.tuple(fc.nat(4), fc.integer({ min: 1, max: 4 })).map(([which, n]) => cmd(`stepIterator(${which}, ${n})`, (_m, r) => {
      if (r.iterators.length === 0) return;
      stepMatches(r.iterators[which % r.iterators.length], n);
    })),
    fc.constant(cmd('takeSnapshot', (m, r) => {
      if (r.snapshots.length >= 2) r.snapshots.shift()!.snap.close();
      r.snapshots.push({ snap: r.store.snapshot(), model: m.clone() });
    })),
    fc.constant(cmd('releaseSnapshot', (_m, r) => { r.snapshots.shift()?.snap.close(); })),
    fc.tuple(fc.nat(4), keyArb, optsArb).map(([which, k, o]) => cmd(`readSnapshot(${which}, ${hex(k)})`, (_m, r) => {
      if (r.snapshots.length === 0) return;
      const { snap, model } = r.snapshots[which % r.snapshots.length];
      const e = model.get(k);
      const got = snap.get(k);
      expect(got === undefined ? undefined : hex(got)).toBe(e === undefined ? undefined : hex(e.value));
      // Every key in one batch as of the snapshot, k repeated: chains folded as of it too.
      const ks = [k, ...KEYS, k];
      expect(snap.getAll(ks).map((v) => (v === undefined ? undefined : hex(v))))
        .toEqual(ks.map((x) => { const f = model.get(x); return f === undefined ? undefined : hex(f.value); }));
      same([...snap.all(o)], model.range(undefined, undefined, o.reverse, o.limit));
    })),
    fc.constant(cmd('flush', async (m, r) => { await r.store.flush(); expectStoreMatches(r.store, m, KEYS); })),
    fc.constant(cmd('compact', async (m, r) => { await r.store.compact(); expectStoreMatches(r.store, m, KEYS); })),
  ];
  if (rangeDeletes) {
    list.push(fc.tuple(keyArb, keyArb).map(([a, b]) => cmd(`deleteRange(${hex(a)}, ${hex(b)})`, (m, r) => {
      if (Buffer.compare(a, b) > 0) [a, b] = [b, a];
      r.store.deleteRange(a, b);
      if (Buffer.compare(a, b) === 0) return;
      m.seq++;
      const lo = hex(a), hi = hex(b);
      for (const k of [...m.map.keys()]) if (k >= lo && k < hi) m.map.delete(k);
    })));
  }
  if (reopen !== undefined) {
    list.push(fc.constant(cmd('reopen', async (m, r) => {
      for (const s of r.snapshots) s.snap.close();
      for (const s of r.iterators) s.it.close();
      r.iterators = [];
      r.snapshots = [];
      await r.store.close();
      r.store = await reopen();
      expectStoreMatches(r.store, m, KEYS);
    })));
  }
  return list;
}

const TINY: StoreOptions<Uint8Array, Uint8Array> = {
  memtableBytes: 256, blockBytes: 64, runTargetBytes: 512, levelBaseBytes: 1024,
  levelSizeMultiplier: 2, level0CompactionTrigger: 2, mergeOperators: OPERATORS,
};

const dirs: string[] = [];
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  // The runs really merged, and the store's own operator folded chains (on reads, in
  // compactions) many times over.
  expect(seen.merges).toBeGreaterThan(2000);
  expect(seen.presentReads).toBeGreaterThan(200);
  expect(seen.tailCalls).toBeGreaterThan(6000);
});

async function finish(m: SortedModel, r: Real): Promise<void> {
  expectStoreMatches(r.store, m, KEYS);
  for (const s of r.snapshots) s.snap.close();
  for (const s of r.iterators) s.it.close();
  // With nothing pinning old versions, a full compaction folds every chain whose base is
  // known: no operand is left in the tree (the entries are exactly the live keys).
  await r.store.compact();
  expect(r.store.approximateNumEntries()).toBe(m.map.size);
  expectStoreMatches(r.store, m, KEYS);
  await r.store.close();
}

describe('merge against a sorted-map model', () => {
  it('in memory, with flushes, compactions, snapshots and iterators', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands(undefined), { maxCommands: 150, size: 'max' }), async (cmds) => {
      const m = new SortedModel();
      const r: Real = { store: await Store.open(TINY), iterators: [], snapshots: [] };
      await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
      await finish(m, r);
    }), { numRuns: 300 });
  }, 180_000);

  it('on disk, with reopen: operands survive the log, run files and recovery', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands(() => Store.open({ ...TINY, path })), { maxCommands: 80, size: 'max' }), async (cmds) => {
      path = mkdtempSync(join(scratch, 'strata-merge-'));
      dirs.push(path);
      const m = new SortedModel();
      const r: Real = { store: await Store.open({ ...TINY, path }), iterators: [], snapshots: [] };
      await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
      await finish(m, r);
    }), { numRuns: 100 });
  }, 180_000);

  it('with a changelog: records carry folded values, and a restore needs no operator', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands(undefined, false), { maxCommands: 100, size: 'max' }), async (cmds) => {
      const log = new MemoryChangelog();
      const m = new SortedModel();
      const r: Real = { store: await Store.open({ ...TINY, changelog: log }), iterators: [], snapshots: [] };
      await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
      for (const rec of log.read(0)) expect(rec.value === null || rec.value instanceof Uint8Array).toBe(true);
      const restored = await Store.open({ ...TINY, mergeOperators: undefined });
      await restored.restore(log.read(0));
      expectStoreMatches(restored, m, KEYS);
      await restored.close();
      await finish(m, r);
    }), { numRuns: 100 });
  }, 180_000);
});
let path = '';

describe('merge operators: errors leave the store intact', () => {
  it('refuses an unknown operator, a missing name and a ttl store', async () => {
    const s = await Store.open({ mergeOperators: OPERATORS });
    expect(() => s.merge(KEYS[1], KEYS[1], 'nope')).toThrow(StrataError);
    s.merge(KEYS[1], new Uint8Array([1])); // the store's only own operator is the default
    expect(s.get(KEYS[1])).toEqual(new Uint8Array([1]));
    await s.close();
    const plain = await Store.open();
    expect(() => plain.merge(KEYS[1], KEYS[1])).toThrow(/operator name/);
    await plain.close();
    const ttl = await Store.open({ ttlMs: 1000 });
    expect(() => ttl.merge(KEYS[1], KEYS[1], 'append')).toThrow(/ttlMs/);
    await ttl.close();
  });
});
