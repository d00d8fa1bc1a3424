// Fault injection over every write path (docs/LSM.md, "The write protocol"). node:fs is
// wrapped (test/support/faulty-fs.ts) so that one chosen call fails as a disk fails: EIO, a
// disk that fills up, a torn write, or a slow call. A workload of every kind of write (put,
// putAll, delete, write, putIfVersion, deleteIfVersion, restore, flush, checkpoint, compact)
// runs on a store small enough to flush, compact and rotate its log, and after every call:
//   - a call either returns or throws a StrataError (never anything else);
//   - the store reads exactly the writes that returned (nothing half-applied is visible);
//   - the onChange listeners have been told exactly those writes;
// and at the end the store closes (resolving only if nothing failed, or failing with
// IO_ERROR) and reopens, without faults, with exactly the acknowledged writes, versions
// included. The failure point is walked over every call of a fixed workload (each mode, both
// sync settings) and chosen by fast-check for random workloads. A changelog sink that fails
// is walked the same way.
import { describe, it, expect, vi, afterAll } from 'vitest';
import fc from 'fast-check';
import * as realFs from 'node:fs';
import { Store, PartitionedStore, StrataError, MemoryChangelog, codecs, type ChangeRecord, type ChangelogSink } from 'strata-kv';
import { arm, type FaultMode, type FaultOp, type FaultState } from './support/faulty-fs.js';
import { ALL_OPS, walkDirs } from './support/fault-walk.js';
import { copyCrashImage } from './support/crash-image.js';
import { InlineExecutor } from '../bindings/background/inline-executor.js';
import { DeferredFileTasks } from '../bindings/storage/deferred-file-tasks.js';

const faults = vi.hoisted(() => ({ plan: undefined, calls: 0, paused: false, hits: [] as string[] }) as FaultState);
vi.mock('node:fs', async (importOriginal) => {
  const { wrapFs } = await import('./support/faulty-fs.js');
  return wrapFs(await importOriginal<typeof import('node:fs')>(), faults);
});

const freshDir = walkDirs(faults, 'strata-inject-');
// Compaction in slices, unless a walk asks for the background worker: then an eager
// InlineExecutor merges each job in this thread when it is handed out, so the job's own file
// calls (reading inputs, writing and syncing its output) are walked too, at fixed points.
const TUNING = { memtableBytes: 4096, blockBytes: 512, level0CompactionTrigger: 2, levelBaseBytes: 8192, background: false };
// (A level-0 trigger of 1 there, so the fixed workload hands it several jobs.) Its run files
// and manifests are file tasks run in this thread at the store's next look (the file
// worker's order: later than the call that submitted them), so each of their calls fails in
// turn too, and its failure reaches the store as the worker's would.
const withWorker = async (bg: boolean) => (bg ? {
  background: await InlineExecutor.create({ eager: true, fileTasks: new DeferredFileTasks({ atPoll: true }) }), level0CompactionTrigger: 1,
} : {});
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

// ---- the workload and its model --------------------------------------------------------------

type Op =
  | { t: 'put'; k: string; v: string }
  | { t: 'putAll'; kvs: [string, string][] }
  | { t: 'delete'; k: string }
  | { t: 'write'; ops: ({ type: 'put'; key: string; value: string } | { type: 'del'; key: string })[] }
  | { t: 'putIfVersion'; k: string; v: string; right: boolean }
  | { t: 'deleteIfVersion'; k: string; right: boolean }
  | { t: 'restore'; kvs: [string, string | null][] }
  | { t: 'flush' } | { t: 'checkpoint' } | { t: 'compact' };

interface Entry { value: string; version: number }
class Model {
  map = new Map<string, Entry>();
  seq = 0;
  clone(): Model { const m = new Model(); m.map = new Map(this.map); m.seq = this.seq; return m; }
  put(k: string, v: string) { this.map.set(k, { value: v, version: ++this.seq }); }
  del(k: string) { this.seq++; this.map.delete(k); }
  entries(): [string, string][] { return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, e]) => [k, e.value]); }
  /** Applies a change record as a listener or a restore sees it. */
  record(r: ChangeRecord) {
    if (r.value === null) this.map.delete(dec(r.key)); else this.map.set(dec(r.key), { value: dec(r.value), version: r.seq });
    this.seq = Math.max(this.seq, r.seq);
  }
}

/** Runs `op`; returns what it changes in `m` when it succeeds (a function), computed first. */
function plan(op: Op, m: Model): { run: (s: Store<string, string>) => unknown; apply: (m: Model, result: unknown) => void } {
  switch (op.t) {
    case 'put': return { run: (s) => s.put(op.k, op.v), apply: (mm) => mm.put(op.k, op.v) };
    case 'putAll': return { run: (s) => s.putAll(op.kvs), apply: (mm) => { for (const [k, v] of op.kvs) mm.put(k, v); } };
    case 'delete': return { run: (s) => s.delete(op.k), apply: (mm) => mm.del(op.k) };
    case 'write': return { run: (s) => s.write(op.ops), apply: (mm) => { for (const o of op.ops) if (o.type === 'put') mm.put(o.key, o.value); else mm.del(o.key); } };
    case 'putIfVersion': {
      const v = (m.map.get(op.k)?.version ?? 0) + (op.right ? 0 : 1);
      return { run: (s) => s.putIfVersion(op.k, op.v, v), apply: (mm, ok) => { if (ok) mm.put(op.k, op.v); } };
    }
    case 'deleteIfVersion': {
      const v = (m.map.get(op.k)?.version ?? 0) + (op.right ? 0 : 1);
      return { run: (s) => s.deleteIfVersion(op.k, v), apply: (mm, ok) => { if (ok) mm.del(op.k); } };
    }
    case 'restore': {
      const records: ChangeRecord[] = op.kvs.map(([k, v], i) => ({ partition: 0, seq: m.seq + 1 + i, key: enc(k), value: v === null ? null : enc(v) }));
      return { run: (s) => s.restore(records), apply: (mm) => { for (const r of records) mm.record(r); } };
    }
    case 'flush': return { run: (s) => s.flush(), apply: () => {} };
    case 'checkpoint': return { run: (s) => s.checkpoint(), apply: () => {} };
    case 'compact': return { run: (s) => s.compact(), apply: () => {} };
  }
}

const key = fc.integer({ min: 0, max: 39 }).map((i) => `k${String(i).padStart(2, '0')}`);
const value = fc.integer({ min: 0, max: 300 }).chain((n) => fc.string({ minLength: n, maxLength: n, unit: fc.constantFrom('a', 'b', 'c', 'é') }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('put' as const), k: key, v: value }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('putAll' as const), kvs: fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), k: key }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('write' as const), ops: fc.array(fc.oneof(
    fc.record({ type: fc.constant('put' as const), key, value }), fc.record({ type: fc.constant('del' as const), key })), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('putIfVersion' as const), k: key, v: value, right: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteIfVersion' as const), k: key, right: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restore' as const), kvs: fc.array(fc.tuple(key, fc.option(value, { nil: null })), { minLength: 1, maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.constantFrom<Op>({ t: 'flush' }, { t: 'checkpoint' }, { t: 'compact' }) },
);

/** A fixed workload with every kind of write, large enough to flush, compact and rotate. */
function fixedWorkload(): Op[] {
  return fc.sample(fc.array(opArb, { minLength: 45, maxLength: 45 }), { numRuns: 1, seed: 14 })[0];
}

// ---- one run ---------------------------------------------------------------------------------

interface Outcome { failed: boolean; hits: number }

const contents = (s: Store<string, string>) => [...s.all()];

async function runWithFault(ops: Op[], sync: boolean, fault: { ops: FaultOp[]; at: number; mode: FaultMode } | undefined, bg = false): Promise<Outcome> {
  const dir = freshDir();
  arm(faults, undefined);
  const s = await Store.open<string, string>({ path: dir, sync, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING, ...await withWorker(bg) });
  let model = new Model();
  const told = new Model(); // what the listeners were told
  s.onChange((records) => { for (const r of records) told.record(r); });
  arm(faults, fault && { ...fault, delayMs: 2 });
  let failed = false;
  for (const op of ops) {
    const p = plan(op, model);
    let result: unknown, error: unknown;
    try { result = await p.run(s); } catch (err) { error = err; }
    faults.paused = true;
    const now = contents(s);
    if (error === undefined) {
      p.apply(model, result);
      if (op.t === 'restore') p.apply(told, result); // a restore bypasses the listeners
    } else {
      if (!(error instanceof StrataError)) throw new Error(`${op.t} threw a non-StrataError: ${String(error)}`, { cause: error });
      failed = true;
      // A restore is applied a chunk at a time and durable at the end: when it fails, its
      // (single) chunk may be in (docs/API.md). Every other failed call changed nothing.
      // Whether it is in shows in the store's sequence (its records' last seq), not always in
      // what it reads: a tombstone of an absent key changes nothing visible.
      if (op.t === 'restore') {
        const withIt = model.clone();
        p.apply(withIt, result);
        if (s.stats().sequence >= withIt.seq) { model = withIt; p.apply(told, result); }
      }
    }
    expect(now, `after ${op.t} (${error === undefined ? 'ok' : (error as StrataError).code})`).toEqual(model.entries());
    expect(told.entries(), `listeners after ${op.t}`).toEqual(model.entries());
    faults.paused = false;
  }
  const hits = faults.hits.length;
  arm(faults, undefined);
  let closeError: unknown;
  await s.close().catch((err) => { closeError = err; });
  if (!failed && hits === 0) expect(closeError).toBeUndefined();
  if (closeError !== undefined) expect(closeError).toMatchObject({ code: 'IO_ERROR' });
  const r = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
  try {
    expect(contents(r), 'after reopen').toEqual(model.entries());
    for (const [k, e] of model.map) expect(r.getVersioned(k)?.version, `version of ${k}`).toBe(e.version);
    expect(r.stats().sequence).toBeGreaterThanOrEqual(model.seq);
  } finally {
    await r.close();
  }
  return { failed: failed || closeError !== undefined, hits };
}

/** How many calls of `ops` the workload makes (the failure points to walk). */
async function countCalls(ops: Op[], sync: boolean, kinds: FaultOp[], bg = false): Promise<number> {
  const dir = freshDir();
  const s = await Store.open<string, string>({ path: dir, sync, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING, ...await withWorker(bg) });
  arm(faults, { ops: kinds, at: Number.POSITIVE_INFINITY, mode: 'fail' });
  let model = new Model();
  for (const op of ops) { const p = plan(op, model); p.apply(model, await p.run(s)); }
  // The walk means something for the worker only if the workload hands it jobs.
  if (bg) expect(s.stats().background?.jobs).toBeGreaterThanOrEqual(3);
  const n = faults.calls;
  arm(faults, undefined);
  await s.close();
  model = new Model();
  return n;
}

// ---- the walks -------------------------------------------------------------------------------

let walked = 0;
afterAll(() => { if (walked > 0) console.log(`fault injection: ${walked} failure points walked`); });

describe('every failure point of a fixed workload', () => {
  for (const [sync, bg] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`sync: ${sync}, ${bg ? 'compactions on the background worker' : 'compactions in slices'}: each call failing, torn or filling the disk`, async () => {
      const ops = fixedWorkload();
      const total = await countCalls(ops, sync, ALL_OPS, bg);
      expect(total).toBeGreaterThan(40);
      const modes: FaultMode[] = ['fail', 'full', 'tear'];
      let failures = 0;
      // Every call, each with one of the modes in turn (every third call sees each mode).
      for (let at = 1; at <= total; at++) {
        const mode = modes[at % modes.length];
        const o = await runWithFault(ops, sync, { ops: ALL_OPS, at, mode }, bg);
        expect(o.hits, `call ${at} was reached`).toBeGreaterThan(0);
        if (o.failed) failures++;
        walked++;
      }
      // Most injected faults must surface as a failed call (a failed unlink of an obsolete
      // file, or a read fault on a file no one reads again, may go unnoticed).
      expect(failures).toBeGreaterThan(total / 2);
    }, 300_000);
  }
});

describe('random workloads, random failure points (fast-check)', () => {
  it('any workload, any single fault: StrataError or success, nothing half-applied, nothing acknowledged lost', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(opArb, { minLength: 5, maxLength: 40 }),
      fc.boolean(),
      fc.subarray(ALL_OPS, { minLength: 1 }),
      fc.integer({ min: 1, max: 150 }),
      fc.constantFrom<FaultMode>('fail', 'full', 'tear', 'delay'),
      fc.boolean(),
      async (ops, sync, kinds, at, mode, bg) => {
        const o = await runWithFault(ops, sync, { ops: kinds, at, mode }, bg);
        walked++;
        if (mode === 'delay') expect(o.failed).toBe(false); // slow is not broken
      },
    ), { numRuns: 400 }); // unseeded, as the other properties: each run explores afresh; a failure prints its seed and path
  }, 300_000);
});

describe('the other write paths, each call failing in turn', () => {
  it('PartitionedStore.putAll: each partition\'s share is all or nothing, and reopen holds what was seen', async () => {
    const P = 3;
    const batches = Array.from({ length: 30 }, (_, b) =>
      Array.from({ length: 6 }, (_, j) => [`p${(b * 7 + j * 5) % 40}`, `${b}:${'w'.repeat((b * 31 + j * 17) % 300)}`] as [string, string]));
    const openIt = (dir: string, sync: boolean) =>
      PartitionedStore.open<string, string>({ path: dir, partitions: P, sync, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
    const state = (ps: PartitionedStore<string, string>) => Array.from({ length: P }, (_, i) => JSON.stringify([...ps.partition(i).all()]));
    for (const sync of [false, true]) {
      const dry = await openIt(freshDir(), sync);
      arm(faults, { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
      for (const b of batches) dry.putAll(b);
      const total = faults.calls;
      arm(faults, undefined);
      await dry.close();
      for (let at = 1; at <= total; at += 2) {
        const dir = freshDir();
        const ps = await openIt(dir, sync);
        const models = Array.from({ length: P }, () => new Map<string, string>());
        arm(faults, { ops: ALL_OPS, at, mode: at % 4 === 1 ? 'fail' : 'tear' });
        for (const b of batches) {
          let failed = false;
          try { ps.putAll(b); } catch (err) { expect(err).toBeInstanceOf(StrataError); failed = true; }
          faults.paused = true;
          const now = state(ps);
          for (let i = 0; i < P; i++) {
            const share = b.filter(([k]) => ps.partitionFor(k) === i);
            const withShare = new Map(models[i]);
            for (const [k, v] of share) withShare.set(k, v);
            const want = (m: Map<string, string>) => JSON.stringify([...m.entries()].sort(([x], [y]) => (x < y ? -1 : 1)));
            if (now[i] === want(withShare)) models[i] = withShare;
            else expect(failed && now[i] === want(models[i]), `partition ${i} after a putAll (fault at ${at})`).toBe(true);
          }
          faults.paused = false;
        }
        arm(faults, undefined);
        const seen = state(ps);
        await ps.close().catch((err) => expect(err).toMatchObject({ code: 'IO_ERROR' }));
        const r = await openIt(dir, false);
        expect(state(r), `reopen after a fault at call ${at}`).toEqual(seen);
        await r.close();
        walked++;
      }
    }
  }, 300_000);

  it('the TTL sweep: the tombstones listeners are told of are exactly those a reopen holds', async () => {
    const openIt = (dir: string) => Store.open<string, string>({ path: dir, ttlMs: 30, expirySweepMs: 0, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
    const setUp = async (dir: string) => {
      const s = await openIt(dir);
      for (let i = 0; i < 60; i++) s.put(`x${i}`, 'e'.repeat(100));
      await new Promise((r) => setTimeout(r, 40)); // they expire
      return s;
    };
    const dry = await setUp(freshDir());
    arm(faults, { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
    expect(dry.purgeExpired()).toBe(60);
    const total = faults.calls;
    arm(faults, undefined);
    await dry.close();
    expect(total).toBeGreaterThan(0);
    for (let at = 1; at <= total; at++) {
      const dir = freshDir();
      const s = await setUp(dir);
      let told = 0;
      s.onChange((records) => { told += records.length; });
      arm(faults, { ops: ALL_OPS, at, mode: 'fail' });
      let purged = -1;
      try { purged = s.purgeExpired(); } catch (err) { expect(err).toBeInstanceOf(StrataError); }
      arm(faults, undefined);
      if (purged >= 0) expect(told).toBe(purged);
      const sequence = s.stats().sequence;
      expect(sequence).toBe(60 + told); // every tombstone applied was told, and only those
      await s.close().catch((err) => expect(err).toMatchObject({ code: 'IO_ERROR' }));
      const r = await openIt(dir);
      expect(r.stats().sequence, `reopen after a fault at call ${at}`).toBe(sequence);
      await r.close();
      walked++;
    }
  }, 300_000);
});

describe('recovery, each call of an open failing in turn', () => {
  it('a crash image (logs to replay, runs in flight) opened under a fault: StrataError or exact, and a clean reopen after is exact', async () => {
    // The image: a sync store copied while open, after a workload that flushed, compacted and
    // rotated its log, so the open replays logs, imports runs, deletes strays, writes a manifest.
    const source = freshDir();
    const s = await Store.open<string, string>({ path: source, sync: true, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
    const model = new Model();
    for (const op of fixedWorkload()) { const p = plan(op, model); p.apply(model, await p.run(s)); }
    const image = freshDir();
    copyCrashImage(source, image);
    await s.close();
    const openIt = (dir: string) => Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
    const dry = freshDir();
    realFs.cpSync(image, dry, { recursive: true });
    arm(faults, { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
    const d = await openIt(dry);
    const total = faults.calls;
    arm(faults, undefined);
    expect(contents(d)).toEqual(model.entries());
    await d.close();
    expect(total).toBeGreaterThan(10);
    for (let at = 1; at <= total; at++) {
      const dir = freshDir();
      realFs.cpSync(image, dir, { recursive: true });
      arm(faults, { ops: ALL_OPS, at, mode: (['fail', 'full', 'tear'] as const)[at % 3] });
      let opened: Store<string, string> | undefined;
      try { opened = await openIt(dir); } catch (err) { expect(err, `open with a fault at call ${at}`).toBeInstanceOf(StrataError); }
      faults.paused = true;
      if (opened) expect(contents(opened), `opened with a fault at call ${at}`).toEqual(model.entries());
      arm(faults, undefined);
      await opened?.close().catch((err) => expect(err).toMatchObject({ code: 'IO_ERROR' }));
      const r = await openIt(dir);
      expect(contents(r), `clean reopen after a fault at call ${at}`).toEqual(model.entries());
      for (const [k, e] of model.map) expect(r.getVersioned(k)?.version).toBe(e.version);
      await r.close();
      walked++;
    }
  }, 300_000);
});

describe('counterexamples the properties found (kept as regular tests)', () => {
  it('a log retired while its records were only in memory keeps them when the run file cannot be created', async () => {
    // Found by the property above (seed 5361): flush() retired the log, whose buffer was never
    // written because its records were "in runs", then creating the run file failed; close
    // dropped the buffer and a reopen lost the acknowledged putAll.
    const ops: Op[] = [{ t: 'putAll', kvs: [['k00', '']] }, { t: 'flush' }, { t: 'flush' }, { t: 'put', k: 'k00', v: '' }, { t: 'put', k: 'k00', v: '' }];
    const o = await runWithFault(ops, false, { ops: ['open', 'read'], at: 2, mode: 'fail' });
    expect(o.failed).toBe(true);
  });
  it('a failed restore whose records change nothing visible is not counted in (seed -1831050918)', async () => {
    // Found by the property above with a fresh seed (-1831050918, path
    // 181:3:2:4:4:4:7:6:6:6:6:7:7:5:5:5:5:5:5:5:5:5:5:5:12:9:0:0:1:3:3): the restore of one
    // tombstone for an absent key failed at its log's fsync, before its chunk went in, and the
    // store went read-only. The test judged the chunk in because the store read the same with
    // it, so expected sequence 1 after reopen; the store rightly had 0.
    const ops: Op[] = [{ t: 'restore', kvs: [['k00', null]] }, { t: 'put', k: 'k00', v: '' }, { t: 'delete', k: 'k00' },
      { t: 'write', ops: [{ type: 'put', key: 'k00', value: '' }] }, { t: 'deleteIfVersion', k: 'k00', right: false }, { t: 'delete', k: 'k00' }];
    const o = await runWithFault(ops, true, { ops: ['fsync', 'read'], at: 1, mode: 'fail' });
    expect(o.failed).toBe(true);
  });
});

// ---- a failing changelog sink ------------------------------------------------------------------

describe('a changelog sink failing at each append', () => {
  for (const how of ['throws', 'rejects'] as const) {
    it(`the sink ${how}: the store holds exactly what the changelog holds, up to the failure`, async () => {
      const ops = fixedWorkload().filter((o) => o.t !== 'restore' && o.t !== 'checkpoint' && o.t !== 'flush');
      for (let at = 1; at <= 40; at++) {
        const log = new MemoryChangelog();
        let appends = 0;
        const sink: ChangelogSink = {
          append(records) {
            if (++appends === at) {
              if (how === 'throws') throw new Error('sink down');
              log.append(records); // taken, then lost in transit: the acknowledgement fails
              return Promise.reject(new Error('lost in transit'));
            }
            log.append(records);
          },
        };
        const s = await Store.open<string, string>({ changelog: sink, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
        const model = new Model();
        for (const op of ops) {
          const p = plan(op, model);
          try { p.apply(model, await p.run(s)); } catch (err) { expect(err).toBeInstanceOf(StrataError); }
          await Promise.resolve();
        }
        expect(contents(s)).toEqual(model.entries());
        // The changelog restores to exactly the store's state.
        const copy = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
        await copy.restore(log.read(0));
        expect(contents(copy)).toEqual(model.entries());
        await copy.close();
        await s.close().catch((err) => expect(err).toMatchObject({ code: 'IO_ERROR' }));
        walked++;
      }
    });
  }
});
