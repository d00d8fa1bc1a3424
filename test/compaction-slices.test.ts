// Flush and compaction in slices (docs/LSM.md): a sealed memtable's flush and a compaction
// each run a slice per write, so they are in progress across many calls. Model: SortedModel
// (a plain Map + sequence counter), compared after every step, with memtables and level
// targets so small that some flush or compaction is nearly always half done while puts,
// deletes, gets, range scans, snapshots and iterators interleave — snapshots and iterators
// opened mid-flush or mid-compaction are read after it completed.
// Examples: a path store closed mid-compaction reopens with nothing lost; compact()
// finishes the compaction in progress.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs, type ChangeRecord, type ChangelogSink, type ChangelogSource, type KeyValueIterator, type Snapshot, type StoreOptions } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';
import { InlineExecutor } from '../bindings/background/inline-executor.js';
import { DeferredFileTasks } from '../bindings/storage/deferred-file-tasks.js';
import { BrowserWorkerExecutor } from '../bindings/background/worker-executor-browser.js';
import { engineModule } from '../bindings/engine/abi.js';
import { ScheduledBrowserWorker, turnEventLoop } from './support/scheduled-browser-worker.js';
import { sameEntries, expectStoreMatches } from './support/expect-model.js';

type Entry = [Uint8Array, Uint8Array];
interface Opened<T> { value: T; model: SortedModel; compactionsAtOpen: number; midCompaction: boolean; flushesAtOpen: number; midFlush: boolean }
interface Real {
  store: Store;
  /** The background worker, when the store has one: the test schedules its steps. */
  executor?: InlineExecutor;
  /** The browser's worker, when the store has one (BrowserWorkerExecutor): the test
   *  schedules its merges and the event loop's turns that carry messages. */
  browserWorker?: ScheduledBrowserWorker;
  /** With a directory: the file worker's tasks, each run when the test says. */
  fileTasks?: DeferredFileTasks;
  mayRunOutOfMemory: boolean;
  iterators: (Opened<KeyValueIterator<Uint8Array, Uint8Array>> & { expected: Entry[]; pos: number })[];
  snapshots: Opened<Snapshot<Uint8Array, Uint8Array>>[];
}
type Cmd = fc.AsyncCommand<SortedModel, Real>;

/** What the runs exercised, so the test fails if compactions were never caught half done. */
const seen = {
  writesMidCompaction: 0, snapshotsReadAfterTheirCompaction: 0, iteratorsReadAfterTheirCompaction: 0,
  writesMidFlush: 0, snapshotsReadAfterTheirFlush: 0, iteratorsReadAfterTheirFlush: 0, stalls: 0, refused: 0,
  jobsMerged: 0, jobsDeliveredIdle: 0, jobsInstalled: 0, jobsMergedHere: 0, jobsFromWorker: 0, browserWorkerFailed: 0, jobsDropped: 0, fileTasksRun: 0, writesWithFileTasksQueued: 0, reopened: 0,
};

// 48 keys with shared prefixes, so runs overlap and compactions rewrite real neighbours.
const KEYS = Array.from({ length: 48 }, (_, i) => new Uint8Array(Buffer.from(`k${(i * 7) % 48}`.padEnd(2 + (i % 3), '.'))));
const keyArb = fc.constantFrom(...KEYS);
const valueMix = (bigBytes: number, bigWeight: number) => fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: bigWeight, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(bigBytes).fill(b)) },
);
const rangeOptsArb = fc.record({ reverse: fc.boolean(), limit: fc.option(fc.nat(8), { nil: undefined }) });

const same = sameEntries;

/** A compaction is half done: in slices here, or a job out to the background worker. */
const running = (r: Real) => { const s = r.store.stats(); return s.compaction.running === 1 || s.background?.running === true; };
const compactions = (r: Real) => r.store.stats().counters.compactions;
const flushing = (r: Real) => r.store.stats().flush.running === 1;
const flushes = (r: Real) => r.store.stats().counters.flushes;
/** What a snapshot or iterator opened now will have lived through. */
const progress = (r: Real) => ({ compactionsAtOpen: compactions(r), midCompaction: running(r), flushesAtOpen: flushes(r), midFlush: flushing(r) });
/** Counts a read of something opened mid-flush or mid-compaction after that one completed. */
function noteReadAfter(r: Real, o: Opened<unknown>, kind: 'snapshots' | 'iterators'): void {
  if (o.midCompaction && compactions(r) > o.compactionsAtOpen) seen[`${kind}ReadAfterTheirCompaction`]++;
  if (o.midFlush && flushes(r) > o.flushesAtOpen) seen[`${kind}ReadAfterTheirFlush`]++;
}

function mutate(r: Real, write: () => void, apply: () => void): void {
  if (running(r)) seen.writesMidCompaction++;
  if (flushing(r)) seen.writesMidFlush++;
  if ((r.fileTasks?.queued ?? 0) > 0) seen.writesWithFileTasksQueued++;
  try {
    write();
  } catch (err) {
    if (r.mayRunOutOfMemory && err instanceof StrataError && err.code === 'OUT_OF_MEMORY') { seen.refused++; return; }
    throw err;
  }
  apply();
}

/** Re-reads every key of the alphabet and the whole ordered content. */
function checkAll(m: SortedModel, r: Real): void {
  expectStoreMatches(r.store, m, KEYS);
}

const cmd = (name: string, run: (m: SortedModel, r: Real) => void | Promise<void>): Cmd => ({
  check: () => true,
  run: async (m, r) => { await run(m, r); },
  toString: () => name,
});

/** The worker's steps, which the test schedules between the store's calls: it merges the job
 *  it was handed, and its result reaches the store while idle (else at the next call). */
const workerSteps = [
  fc.constant(cmd('worker merges its job', (_m, r) => { if (r.executor!.merge()) seen.jobsMerged++; })),
  fc.constant(cmd('worker result arrives while idle', (m, r) => {
    if (!r.executor!.deliver()) return;
    seen.jobsDeliveredIdle++;
    checkAll(m, r);
  })),
];

/** The browser worker's steps: it merges the oldest job that reached it; the event loop
 *  turns (messages cross: jobs to it, results back, installed while idle); rarely, it fails. */
const browserWorkerSteps = [
  fc.constant(cmd('browser worker merges a job', (_m, r) => { if (r.browserWorker!.mergeOne()) seen.jobsMerged++; })),
  fc.constant(cmd('browser worker merges a job', (_m, r) => { if (r.browserWorker!.mergeOne()) seen.jobsMerged++; })),
  fc.constant(cmd('event loop turns', async (m, r) => {
    const jobs = r.store.stats().background?.jobs ?? 0;
    await turnEventLoop();
    if ((r.store.stats().background?.jobs ?? 0) > jobs) seen.jobsDeliveredIdle++;
    checkAll(m, r);
  })),
  fc.nat(20).map((n) => cmd(`browser worker fails (${n === 0})`, (m, r) => {
    if (n !== 0) return;
    r.browserWorker!.fail('scheduled failure');
    seen.browserWorkerFailed++;
    checkAll(m, r);
  })),
];

/** The file worker's step: it writes the next slice of a run file, or a manifest. */
const fileWorkerStep = fc.integer({ min: 1, max: 4 }).map((n) => cmd(`file worker runs ${n} task(s)`, (_m, r) => {
  for (let i = 0; i < n && r.fileTasks!.runNext(); i++) seen.fileTasksRun++;
}));

const commandsWith = (valueArb: fc.Arbitrary<Uint8Array>, background = false, dir = false, browser = false) => [
  ...(background ? (browser ? browserWorkerSteps : workerSteps) : []),
  ...(background && dir ? [fileWorkerStep, fileWorkerStep] : []),
  fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)}, ${v.length}B)`, (m, r) => mutate(r, () => r.store.put(k, v), () => m.put(k, v)))),
  fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)}, ${v.length}B)`, (m, r) => mutate(r, () => r.store.put(k, v), () => m.put(k, v)))),
  keyArb.map((k) => cmd(`delete(${hex(k)})`, (m, r) => mutate(r, () => r.store.delete(k), () => m.delete(k)))),
  fc.array(fc.tuple(keyArb, valueArb), { maxLength: 12 }).map((es) => cmd(`putAll(${es.length})`, (m, r) => {
    mutate(r, () => r.store.putAll(es), () => { for (const [k, v] of es) m.put(k, v); });
  })),
  fc.array(keyArb, { maxLength: 6 }).map((ks) => cmd(`deleteAll(${ks.length})`, (m, r) => {
    mutate(r, () => r.store.deleteAll(ks), () => { for (const k of ks) m.delete(k); });
  })),
  keyArb.map((k) => cmd(`get(${hex(k)})`, (m, r) => {
    const got = r.store.getVersioned(k);
    const e = m.get(k);
    expect(got && { v: hex(got.value), version: got.version }).toEqual(e && { v: hex(e.value), version: e.version });
  })),
  fc.tuple(keyArb, keyArb, rangeOptsArb).map(([a, b, o]) => cmd(`range(${hex(a)}, ${hex(b)}, ${JSON.stringify(o)})`, (m, r) => {
    same([...r.store.range(a, b, o)], m.range(a, b, o.reverse, o.limit));
  })),
  fc.constant(cmd('flush', async (m, r) => {
    try {
      await r.store.flush();
      expect(r.store.stats()).toMatchObject({ flush: { running: 0 }, memtable: { entries: 0 } }); // both memtables flushed
    } catch (err) { if (!(r.mayRunOutOfMemory && err instanceof StrataError && err.code === 'OUT_OF_MEMORY')) throw err; }
    checkAll(m, r);
  })),
  fc.constant(cmd('compact', async (m, r) => {
    try {
      await r.store.compact();
      expect(r.store.stats().compaction.running).toBe(0); // compact() finished the one in progress
      expect(r.store.stats().flush.running).toBe(0); // ... and the flush in progress
    } catch (err) { if (!(r.mayRunOutOfMemory && err instanceof StrataError && err.code === 'OUT_OF_MEMORY')) throw err; }
    checkAll(m, r);
  })),
  fc.tuple(fc.option(fc.tuple(keyArb, keyArb), { nil: undefined }), rangeOptsArb).map(([bounds, o]) => cmd(`openIterator(${bounds ? bounds.map(hex) : 'all'})`, (m, r) => {
    if (r.iterators.length >= 3) r.iterators.shift()!.value.close();
    const value = bounds ? r.store.range(bounds[0], bounds[1], o) : r.store.all(o);
    const expected = bounds ? m.range(bounds[0], bounds[1], o.reverse, o.limit) : m.range(undefined, undefined, o.reverse, o.limit);
    r.iterators.push({ value, model: m, expected, pos: 0, ...progress(r) });
  })),
  fc.tuple(fc.nat(4), fc.integer({ min: 1, max: 6 })).map(([which, n]) => cmd(`stepIterator(${which}, ${n})`, (_m, r) => {
    if (r.iterators.length === 0) return;
    const s = r.iterators[which % r.iterators.length];
    noteReadAfter(r, s, 'iterators');
    for (let i = 0; i < n; i++) {
      const res = s.value.next();
      if (s.pos >= s.expected.length) { expect(res.done).toBe(true); break; }
      expect(res.done).toBe(false);
      same([res.value as Entry], [s.expected[s.pos++]]);
    }
  })),
  fc.constant(cmd('takeSnapshot', (m, r) => {
    if (r.snapshots.length >= 3) r.snapshots.shift()!.value.close();
    r.snapshots.push({ value: r.store.snapshot(), model: m.clone(), ...progress(r) });
  })),
  fc.tuple(fc.nat(4), keyArb, rangeOptsArb).map(([which, k, o]) => cmd(`readSnapshot(${which}, ${hex(k)})`, (_m, r) => {
    if (r.snapshots.length === 0) return;
    const opened = r.snapshots[which % r.snapshots.length];
    const { value: snap, model } = opened;
    noteReadAfter(r, opened, 'snapshots');
    const e = model.get(k);
    const got = snap.get(k);
    expect(got === undefined ? undefined : hex(got)).toBe(e === undefined ? undefined : hex(e.value));
    same([...snap.all(o)], model.range(undefined, undefined, o.reverse, o.limit));
    same([...snap.range(k, KEYS[KEYS.length - 1], o)], model.range(k, KEYS[KEYS.length - 1], o.reverse, o.limit));
  })),
];

/** Memtables of 512 bytes, level 1 of 1 KiB, two level-0 runs per compaction: a slice is a
 *  few keys, so a compaction spans several writes. Slices on this thread: no background
 *  worker (test/background.model.test.ts covers compactions merged there). */
const SLICED: StoreOptions<Uint8Array, Uint8Array> = {
  background: false,
  memtableBytes: 512, blockBytes: 96, runTargetBytes: 512, levelBaseBytes: 1024,
  levelSizeMultiplier: 2, level0CompactionTrigger: 2,
};

/** `background`: an InlineExecutor runs the store's compactions, each step a command;
 *  `dir`: every sequence gets a fresh directory (write-ahead log, run files). */
async function runModel(options: StoreOptions<Uint8Array, Uint8Array>, numRuns: number, valueArb = valueMix(3000, 1),
                        replay: { seed: number; path: string } | object = {}, mode: { background?: boolean; dir?: boolean; browser?: 'messages' | 'mailbox' } = {}): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.commands(commandsWith(valueArb, mode.background, mode.dir, mode.browser !== undefined), { maxCommands: 150, size: 'large' }), async (cmds) => {
      const fileTasks = mode.background && mode.dir ? new DeferredFileTasks() : undefined;
      const module = await engineModule();
      const browserWorker = mode.browser ? new ScheduledBrowserWorker(module) : undefined;
      const executor = !mode.background ? undefined : browserWorker
        ? new BrowserWorkerExecutor(module, () => browserWorker as unknown as Worker, { mailboxes: mode.browser === 'mailbox', blocks: false })
        : await InlineExecutor.create({ fileTasks });
      const path = mode.dir ? mkdtempSync(join(tmpdir(), 'strata-bg-model-')) : undefined;
      if (path) dirs.push(path);
      const store = await Store.open({ ...options, ...(executor ? { background: executor } : {}), path });
      const real: Real = { store, executor: executor instanceof InlineExecutor ? executor : undefined, browserWorker, fileTasks, iterators: [], snapshots: [], mayRunOutOfMemory: options.maxMemoryBytes !== undefined };
      const model = new SortedModel();
      let closed = false;
      try {
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        for (const s of real.iterators) same([...s.value], s.expected.slice(s.pos));
        for (const s of real.snapshots) {
          same([...s.value.all()], s.model.range());
          s.value.close();
        }
        seen.stalls += store.stats().counters.compactionStalls + (store.stats().background?.stalls ?? 0);
        seen.jobsInstalled += store.stats().background?.jobs ?? 0;
        seen.jobsDropped += store.stats().background?.failed ?? 0;
        seen.jobsMergedHere += store.stats().background?.mergedHere ?? 0;
        if (browserWorker) seen.jobsFromWorker += (store.stats().background?.jobs ?? 0) - (store.stats().background?.mergedHere ?? 0);
        expect(store.stats().iterators).toBe(0);
        await store.close();
        closed = true;
        if (path) {
          // Whatever the file tasks had done when close() came: the directory holds the model.
          const again = await Store.open({ ...options, background: false, path });
          try { checkAll(model, { ...real, store: again }); } finally { await again.close(); }
          seen.reopened++;
        }
      } finally {
        if (!closed) await store.close();
      }
    }),
    { numRuns, endOnFailure: true, ...replay },
  );
}

const dirs: string[] = [];

/** A changelog kept in an array that outlives the store (close() does not end it). */
class ArrayChangelog implements ChangelogSink, ChangelogSource {
  records: ChangeRecord[] = [];
  append(records: ChangeRecord[]): void {
    // biome-ignore lint/complexity/useOptionalChain: a delete's null value stays null (?. would make it undefined)
    for (const r of records) this.records.push({ ...r, key: r.key.slice(), value: r.value && r.value.slice() });
  }
  read(_partition: number, fromSeq = 0): ChangeRecord[] { return this.records.filter((r) => r.seq >= fromSeq); }
}
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('flush and compaction in slices against a sorted Map model (fc.commands)', () => {
  it('flushes and compactions half done across writes, reads, snapshots and iterators (300 sequences)', async () => {
    const before = { ...seen };
    await runModel(SLICED, 300);
    // The property only means something if flushes and compactions really were caught in progress.
    const grew = (k: keyof typeof seen) => seen[k] - before[k];
    expect(grew('writesMidCompaction')).toBeGreaterThan(1000);
    expect(grew('snapshotsReadAfterTheirCompaction')).toBeGreaterThan(20);
    expect(grew('iteratorsReadAfterTheirCompaction')).toBeGreaterThan(20);
    // A flush is shorter (a 512-byte memtable, ~3 writes): fewer, but all kinds of reads.
    // The runs are unseeded: iterators read after their flush numbered 9 in one run (which
    // failed a bound of 10) and 46 in a seeded one, so the bounds leave room below that.
    expect(grew('writesMidFlush')).toBeGreaterThan(100);
    expect(grew('snapshotsReadAfterTheirFlush')).toBeGreaterThan(3);
    expect(grew('iteratorsReadAfterTheirFlush')).toBeGreaterThan(3);
  });
  it('a level-0 trigger of 1 and writes as large as the memtable (150 sequences)', async () => {
    await runModel({ ...SLICED, level0CompactionTrigger: 1, levelBaseBytes: 4096 }, 150, valueMix(600, 3));
  });
  const CAPPED = { ...SLICED, memtableBytes: 1 << 17, runTargetBytes: 1 << 16, levelBaseBytes: 1 << 17, maxMemoryBytes: 1 << 20 };
  it('a 1 MiB memory cap: writes and merges refused for memory change nothing (100 sequences)', async () => {
    const before = seen.refused;
    await runModel(CAPPED, 100, valueMix(60_000, 4));
    expect(seen.refused - before).toBeGreaterThan(10); // the cap was really reached
  });
  // Found by the property above (run longer than here), both with a sealed memtable at the
  // cap, reads then refused OUT_OF_MEMORY: (1) its successor took its first arena chunk
  // when made, past the writes' read reserve — a fresh memtable now takes it on its first
  // write, which the reserve guards; (2) a flush slice's partial run, held across calls,
  // took the reserve — slices now leave it, and a slice refused memory defers the flush to
  // one whole call. The cases replay by seed and path (their values are not printed).
  for (const replay of [{ seed: 133410291, path: '10' }, { seed: 905006650, path: '363' }]) {
    it(`regression: a flush at the cap leaves reads their reserve (seed ${replay.seed}, path ${replay.path})`, async () => {
      await runModel(CAPPED, 1, valueMix(60_000, 4), replay);
    });
  }
});

describe('compactions merged by a background worker whose steps the test schedules (fc.commands)', () => {
  // The same commands and model, with the worker's two steps among them: every order of a
  // job's hand-out (at the flush that makes it due), its merge, and its install (at the
  // store's next call, or while idle), against writes, reads, snapshots and iterators opened
  // before and read after, is a sequence fast-check can generate.
  const grown = async (run: () => Promise<void>) => {
    const before = { ...seen };
    await run();
    return (k: keyof typeof seen) => seen[k] - before[k];
  };
  it('in memory: jobs installed between writes, reads, snapshots and iterators (300 sequences)', async () => {
    const grew = await grown(() => runModel(SLICED, 300, valueMix(3000, 1), {}, { background: true }));
    // Unseeded: one run of 200 merged 199 jobs, installed 379 (the store merges the rest
    // itself: a write stop, compact()), delivered 22 idle, and wrote 1,004 times mid-compaction;
    // the bounds sit well below that.
    expect(grew('jobsInstalled')).toBeGreaterThan(80);
    expect(grew('jobsMerged')).toBeGreaterThan(80);
    expect(grew('jobsDeliveredIdle')).toBeGreaterThan(5);
    expect(grew('writesMidCompaction')).toBeGreaterThan(400);
    expect(grew('snapshotsReadAfterTheirCompaction')).toBeGreaterThan(20);
    expect(grew('iteratorsReadAfterTheirCompaction')).toBeGreaterThan(20);
  });
  it('with a directory: output run files installed, inputs deleted, run files and manifests written by a file worker the test schedules, reads exact, reopen exact (100 sequences)', async () => {
    const grew = await grown(() => runModel(SLICED, 100, valueMix(3000, 1), {}, { background: true, dir: true }));
    expect(grew('jobsInstalled')).toBeGreaterThan(50);
    // Unseeded: three runs ran 138-178 tasks as commands (the rest ran when the store waited
    // for them: its bounds, flush, close) and wrote 263-298 times with tasks queued.
    expect(grew('fileTasksRun')).toBeGreaterThan(50);
    expect(grew('writesWithFileTasksQueued')).toBeGreaterThan(100);
    expect(grew('reopened')).toBe(100);
  });
  it('a browser worker (messages only between calls): results installed while idle, waits merged on the store thread, stale results dropped, a failing worker (200 sequences)', async () => {
    const grew = await grown(() => runModel(SLICED, 200, valueMix(3000, 1), {}, { background: true, browser: 'messages' }));
    expect(grew('jobsInstalled')).toBeGreaterThan(80);
    expect(grew('jobsMerged')).toBeGreaterThan(40);
    expect(grew('jobsMergedHere')).toBeGreaterThan(10);
    expect(grew('jobsFromWorker')).toBeGreaterThan(10);
    expect(grew('jobsDeliveredIdle')).toBeGreaterThan(10);
    expect(grew('browserWorkerFailed')).toBeGreaterThan(3);
    expect(grew('writesMidCompaction')).toBeGreaterThan(400);
    expect(grew('snapshotsReadAfterTheirCompaction')).toBeGreaterThan(20);
    expect(grew('iteratorsReadAfterTheirCompaction')).toBeGreaterThan(20);
  });
  it('a browser worker answering in shared memory: results taken at the next call without the event loop, the rest as above (200 sequences)', async () => {
    const grew = await grown(() => runModel(SLICED, 200, valueMix(3000, 1), {}, { background: true, browser: 'mailbox' }));
    expect(grew('jobsInstalled')).toBeGreaterThan(80);
    expect(grew('jobsMerged')).toBeGreaterThan(40);
    expect(grew('jobsMergedHere')).toBeGreaterThan(10);
    expect(grew('jobsFromWorker')).toBeGreaterThan(30);
    expect(grew('browserWorkerFailed')).toBeGreaterThan(3);
    expect(grew('writesMidCompaction')).toBeGreaterThan(400);
  });
  it('a 1 MiB memory cap: a write refused for room drops the job and merges here (60 sequences)', async () => {
    const CAPPED = { ...SLICED, memtableBytes: 1 << 17, runTargetBytes: 1 << 16, levelBaseBytes: 1 << 17, maxMemoryBytes: 1 << 20 };
    const grew = await grown(() => runModel(CAPPED, 60, valueMix(60_000, 4), {}, { background: true }));
    expect(grew('refused')).toBeGreaterThan(5);
  });
});

describe('compaction in progress', () => {
  const TINY = { background: false, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 4096, blockBytes: 256, runTargetBytes: 4096, levelBaseBytes: 8192, level0CompactionTrigger: 2 };
  const key = (i: number) => `key${String((i * 7919) % 5000).padStart(5, '0')}`;

  /** Writes until a compaction is in progress and has read something; returns the model. */
  function writeUntilMidCompaction(s: Store<string, string>, expected: Map<string, [string, number]>, start: number): number {
    let i = start;
    for (; i < start + 100_000; i++) {
      s.put(key(i), `v${i}`);
      expected.set(key(i), [`v${i}`, s.getVersioned(key(i))!.version]);
      const c = s.stats().compaction;
      if (i > start + 2000 && c.running === 1 && c.bytesRead > 0 && c.bytesRead < c.inputBytes / 2) return i + 1;
    }
    throw new Error('no compaction caught in progress');
  }

  const check = (s: Store<string, string>, expected: Map<string, [string, number]>) => {
    for (const [k, [v, version]] of expected) expect(s.getVersioned(k)).toEqual({ value: v, version });
    expect([...s.all()].map(([k]) => k)).toEqual([...expected.keys()].sort());
  };

  for (const mode of ['write-ahead log', 'changelog checkpoints'] as const) {
    it(`survives close and reopen of a path store with nothing lost (${mode})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-slices-'));
      dirs.push(dir);
      const log = new ArrayChangelog();
      const opts = mode === 'write-ahead log' ? { ...TINY, path: dir } : { ...TINY, path: dir, changelog: log };
      const expected = new Map<string, [string, number]>();
      let s = await Store.open<string, string>(opts);
      const next = writeUntilMidCompaction(s, expected, 0);
      const snap = s.snapshot();
      writeUntilMidCompaction(s, expected, next); // a later one; the snapshot spans a completion
      snap.close();
      await s.close();
      s = await Store.open<string, string>(opts);
      check(s, expected);
      s.put('after', 'reopen'); // writes go on, compactions too
      await s.compact();
      check(s, new Map([...expected, ['after', ['reopen', s.getVersioned('after')!.version]]]));
      await s.close();
    });
  }

  it('compact() finishes the compaction in progress, then merges everything', async () => {
    const s = await Store.open<string, string>(TINY);
    const expected = new Map<string, [string, number]>();
    writeUntilMidCompaction(s, expected, 0);
    const before = s.stats();
    expect(before.compaction.running).toBe(1);
    await s.compact();
    const after = s.stats();
    expect(after.compaction).toMatchObject({ running: 0, inputBytes: 0, bytesRead: 0 });
    expect(after.counters.compactions).toBeGreaterThanOrEqual(before.counters.compactions + 2); // it, then the full merge
    expect(after.levels.filter((l) => l.runs > 0).length).toBe(1);
    expect(after.levels[0].runs).toBe(0);
    check(s, expected);
    await s.close();
  });

  it('back-pressure: level 0 filled by a restore while a compaction was behind makes writes do more', async () => {
    const s = await Store.open<string, string>(TINY);
    const expected = new Map<string, [string, number]>();
    writeUntilMidCompaction(s, expected, 0);
    // Chunks of 100 records of 60 bytes: each is ingested as a level-0 run, and ingest leaves
    // the compaction in progress alone.
    let seq = s.stats().sequence;
    const records: ChangeRecord[] = [];
    for (let i = 0; i < 1000; i++) {
      const k = `restored${String(i).padStart(4, '0')}`;
      records.push({ partition: 0, seq: ++seq, key: codecs.utf8.encode(k), value: codecs.utf8.encode('r'.repeat(50)) });
      expected.set(k, ['r'.repeat(50), seq]);
    }
    await s.restore(records, { chunkRecords: 100 } as object);
    const l0 = s.stats().levels[0].runs;
    expect(l0).toBeGreaterThanOrEqual(3 * TINY.level0CompactionTrigger);
    expect(s.stats().compaction.running).toBe(1);
    let writes = 0;
    while (s.stats().counters.compactionStalls === 0 && writes < 100) { s.delete(`absent${writes++}`); }
    expect(s.stats().counters.compactionStalls).toBeGreaterThan(0);
    while (s.stats().levels[0].runs >= l0 && writes < 100_000) { s.delete(`absent${writes++}`); }
    expect(s.stats().levels[0].runs).toBeLessThan(l0);
    check(s, expected);
    await s.close();
  });

  it('flush() leaves the compaction in progress running; the writes after it finish it', async () => {
    const s = await Store.open<string, string>(TINY);
    const expected = new Map<string, [string, number]>();
    writeUntilMidCompaction(s, expected, 0);
    const read = s.stats().compaction.bytesRead;
    const done = s.stats().counters.compactions;
    await s.flush();
    expect(s.stats().compaction).toMatchObject({ running: 1, bytesRead: read });
    let i = 0;
    while (s.stats().counters.compactions === done && i < 10_000) { s.delete(`absent${i++}`); }
    expect(s.stats().counters.compactions).toBeGreaterThan(done);
    check(s, expected);
    await s.close();
  });
});
