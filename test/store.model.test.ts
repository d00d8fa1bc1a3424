// Model-based test of the engine core: random sequences of every Store method (the
// read-modify-writes putIfAbsent and getAndDelete included), run against
// a Store and against SortedModel (a plain Map + sequence counter), compared after every
// step. Memtables of a few hundred bytes make flushes and compactions happen constantly, so
// reads cross the memtable, level 0 and deeper levels; open iterators and snapshots must keep
// seeing the state of their creation through all of it. Restores (with a hot key written
// many times, so ingested chunks sort long groups of one key) are commands too. On disk, a
// copy of the directory taken between two calls (what a crash at that moment leaves, all
// file I/O being synchronous) must reopen to a state the store was in at a call boundary,
// holding every write acknowledged as durable: with sync: true, exactly the model's state.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, type ChangeRecord, type KeyValueIterator, type Snapshot, type StoreOptions } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';
import { sameEntries, expectStoreMatches, stepMatches } from './support/expect-model.js';
import { copyCrashImage } from './support/crash-image.js';
import { InlineExecutor } from '../bindings/background/inline-executor.js';
import { DeferredFileTasks } from '../bindings/storage/deferred-file-tasks.js';

interface Real {
  store: Store;
  /** With a small maxMemoryBytes, writes may be refused: then nothing may have changed. */
  mayRunOutOfMemory: boolean;
  iterators: { it: KeyValueIterator<Uint8Array, Uint8Array>; expected: [Uint8Array, Uint8Array][]; pos: number }[];
  snapshots: { snap: Snapshot<Uint8Array, Uint8Array>; model: SortedModel }[];
  /** The states the store has been in at call boundaries, oldest first (one per sequence). */
  history: SortedModel[];
  /** Every write up to this sequence was acknowledged as durable (sync, flush, restore, reopen). */
  durableSeq: number;
  sync: boolean;
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
  run: async (m, r) => {
    await run(m, r);
    if (r.history.at(-1)!.seq !== m.seq) r.history.push(m.clone());
    if (r.sync) r.durableSeq = m.seq; // every write call returned durable
  },
  toString: () => name,
});
const always = () => true;

/** Every Store method as a command; `valueArb` sets the mix of value sizes. With `disk`
 *  (stores with a path), also closing and reopening the store, and crash images. */
function commandArbsWith(valueArb: fc.Arbitrary<Uint8Array>, disk?: { reopen: () => Promise<Store>; crash: (m: SortedModel, r: Real) => Promise<void> }) {
  const extra: fc.Arbitrary<Cmd>[] = disk === undefined ? [] : [fc.constant(cmd('reopen', always, async (m, r) => {
    // Iterators and snapshots end with their store; what was written must all come back.
    for (const s of r.snapshots) s.snap.close();
    r.iterators = [];
    r.snapshots = [];
    await r.store.close();
    r.durableSeq = m.seq; // close() makes everything durable
    r.store = await disk.reopen();
    checkAll(m, r);
  }))];
  // Many small writes, each its own call, with a crash image taken after one of them: enough
  // writes to fill memtables and logs within one sequence, so that crash images find
  // flushes, compactions, log rotations and run files half done.
  const burst = fc.tuple(
    fc.array(fc.tuple(keyArb, fc.option(fc.uint8Array({ maxLength: 24 }), { freq: 5, nil: null })), { minLength: 10, maxLength: 60, size: 'max' }),
    fc.nat(),
  ).map(([ws, at]) => cmd(`writes(${ws.length}, crash image after ${at % ws.length})`, always, async (m, r) => {
    for (let i = 0; i < ws.length; i++) {
      const [k, v] = ws[i];
      if (v === null) { r.store.delete(k); m.delete(k); } else { r.store.put(k, v); m.put(k, v); }
      r.history.push(m.clone()); // each write is a call boundary a crash image may show
      if (r.sync) r.durableSeq = m.seq;
      if (i === at % ws.length) await disk!.crash(m, r);
    }
  }));
  if (disk !== undefined) extra.push(fc.constant(cmd('crashImage', always, (m, r) => disk.crash(m, r))), burst, burst);
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
  fc.array(keyArb, { maxLength: 24 }).map((ks) => cmd(`getAll(${ks.map(hex)})`, always, (m, r) => {
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
  // putIfAbsent and getAndDelete: the value found, and a write only when the model says so
  // (a refused putIfAbsent and a getAndDelete of an absent key take no sequence number).
  fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`putIfAbsent(${hex(k)}, ${v.length}B)`, always, (m, r) => {
    const had = m.get(k)?.value;
    mutate(r, () => {
      const got = r.store.putIfAbsent(k, v);
      expect(got === undefined ? undefined : hex(got)).toBe(had === undefined ? undefined : hex(had));
    }, () => { if (had === undefined) m.put(k, v); });
  })),
  keyArb.map((k) => cmd(`getAndDelete(${hex(k)})`, always, (m, r) => {
    const had = m.get(k)?.value;
    mutate(r, () => {
      const got = r.store.getAndDelete(k);
      expect(got === undefined ? undefined : hex(got)).toBe(had === undefined ? undefined : hex(had));
    }, () => { if (had !== undefined) m.delete(k); });
  })),
  fc.constant(cmd('flush', always, async (m, r) => {
    await maintain(r, async () => { await r.store.flush(); r.durableSeq = m.seq; });
    checkAll(m, r);
  })),
  fc.constant(cmd('compact', always, async (m, r) => { await maintain(r, () => r.store.compact()); checkAll(m, r); })),
  // Changelog records after the store's sequence (sequences may jump), some before it (an
  // overlapping tail, skipped), in chunks of any size: chunks of 64+ records are ingested as
  // runs (with TINY), and four records in ten go to one hot key, so an ingested chunk holds
  // it far more than the 16 times past which ingest.ts merge-sorts a group.
  fc.record({
    gap: fc.nat(3),
    replay: fc.nat(3),
    hot: keyArb,
    picks: fc.array(fc.tuple(fc.nat(9), keyArb, fc.option(fc.uint8Array({ maxLength: 24 }), { freq: 6, nil: null })), { minLength: 1, maxLength: 150, size: 'max' }),
    chunkRecords: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
  }).map((o) => cmd(`restore(${o.picks.length} records, hot ${hex(o.hot)}, chunks of ${o.chunkRecords ?? 'default'})`, always, async (m, r) => {
    const records: ChangeRecord[] = [];
    for (let seq = Math.max(1, m.seq - o.replay + 1); seq <= m.seq; seq++) {
      records.push({ partition: 0, seq, key: KEYS[seq % KEYS.length], value: new Uint8Array([seq & 0xff]) });
    }
    let seq = m.seq + o.gap;
    for (const [pick, k, value] of o.picks) {
      seq += pick === 9 ? 3 : 1;
      records.push({ partition: 0, seq, key: pick < 4 ? o.hot : k, value });
    }
    try {
      await r.store.restore(records, { chunkRecords: o.chunkRecords } as object);
    } catch (err) {
      if (!(r.mayRunOutOfMemory && err instanceof StrataError && err.code === 'OUT_OF_MEMORY')) throw err;
      refusedWrites++;
      // Chunks are applied whole or not at all: exactly the records up to the new sequence.
      const upTo = r.store.stats().sequence;
      m.restore(records.filter((x) => x.seq <= upTo));
      checkAll(m, r);
      return;
    }
    m.restore(records);
    r.durableSeq = m.seq; // a restore is durable when it resolves
    checkAll(m, r);
  })),
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
    stepMatches(r.iterators[which % r.iterators.length], n);
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
    // A batch as of the snapshot: k, its neighbours and repeats, against the snapshot's model.
    const ks = [k, ...KEYS.filter((_, i) => i % 7 === which), k];
    expect(snap.getAll(ks).map((v) => (v === undefined ? undefined : hex(v))))
      .toEqual(ks.map((x) => { const f = model.get(x); return f === undefined ? undefined : hex(f.value); }));
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
/** Store directories and crash images go to tmpfs when there is one: the properties are about
 *  what the files hold, and a sync store's fsync per write on a real disk only makes it slow. */
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Totals over the file-backed runs: the test must really have read blocks from files. */
const fileReads = { runs: 0, misses: 0 };

/** What the crash images caught the store doing: they must cover flushes and compactions
 *  half done, several logs (one retired, not yet deleted) and run files not yet listed. */
const crashImages = { taken: 0, midFlush: 0, midCompaction: 0, severalLogs: 0, unlistedRunFiles: 0, behindModel: 0 };

/**
 * Copies the directory of the open store (a crash image: every file write is synchronous,
 * so between two calls the files are exactly what a process killed now would leave), opens
 * the copy and checks it holds a state the store was in at a call boundary, no older than
 * the last write acknowledged as durable.
 */
async function crashImage(options: StoreOptions<Uint8Array, Uint8Array>, path: string, m: SortedModel, r: Real): Promise<void> {
  const copy = mkdtempSync(join(scratch, 'strata-crash-image-'));
  try {
    copyCrashImage(path, copy);
    const st = r.store.stats();
    const names = readdirSync(copy);
    const listed = new Set((JSON.parse(readFileSync(join(copy, 'MANIFEST'), 'utf8').split('\n')[1]).levels as number[][]).flat());
    crashImages.taken++;
    if (st.flush.running > 0) crashImages.midFlush++;
    if (st.compaction.running > 0) crashImages.midCompaction++;
    if (names.filter((n) => n.endsWith('.wal')).length > 1) crashImages.severalLogs++;
    if (names.some((n) => n.endsWith('.run') && !listed.has(Number(n.slice(0, -4))))) crashImages.unlistedRunFiles++;
    const s = await Store.open({ ...options, path: copy });
    try {
      const seq = s.stats().sequence;
      expect(seq, 'the crash image lost acknowledged durable writes').toBeGreaterThanOrEqual(r.durableSeq);
      const state = r.history.find((h) => h.seq === seq);
      expect(state, `the crash image, at sequence ${seq}, is no state the store was in (now ${m.seq})`).toBeDefined();
      if (seq < m.seq) crashImages.behindModel++;
      expectStoreMatches(s, state!, KEYS);
      // Versions go on from there.
      s.put(KEYS[0], new Uint8Array([7]));
      expect(s.getVersioned(KEYS[0])!.version).toBe(seq + 1);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** With `onDisk`, each sequence gets a fresh directory and may reopen the store and take
 *  crash images of it. */
async function runModel(options: StoreOptions<Uint8Array, Uint8Array>, numRuns: number, bigValueWeight = 1, onDisk = false) {
  let path: string | undefined;
  // On disk, compaction jobs merge as they are handed out and the run files and manifests
  // are file tasks run at the store's next call, both on this thread: a crash image copied
  // between two calls is then what a kill would leave, file tasks still queued included
  // (the real workers write while the copy is taken).
  const background = async () => (onDisk && options.background !== false
    ? { background: await InlineExecutor.create({ eager: true, fileTasks: new DeferredFileTasks({ atPoll: true }) }) } : {});
  const open = async () => Store.open({ ...options, ...await background(), path });
  const disk = { reopen: open, crash: (m: SortedModel, r: Real) => crashImage(options, path!, m, r) };
  const commands = commandArbsWith(valueMix(bigValueWeight), onDisk ? disk : undefined);
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 80, size: 'medium' }), async (cmds) => {
      if (onDisk) { path = mkdtempSync(join(scratch, 'strata-model-')); dirs.push(path); }
      const real: Real = {
        store: await open(), iterators: [], snapshots: [], mayRunOutOfMemory: options.maxMemoryBytes !== undefined,
        history: [new SortedModel()], durableSeq: 0, sync: options.sync === true,
      };
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
    // Without sync, a crash image may lack the writes since the last flush(), close() or
    // restore, but must still show the store as it was at some call boundary after it.
    const before = { ...fileReads };
    const images = { ...crashImages };
    await runModel({ ...TINY, blockCacheBytes: 0 }, 250, 1, true);
    expect(fileReads.runs - before.runs).toBeGreaterThan(100);
    expect(fileReads.misses - before.misses).toBeGreaterThan(1000);
    console.log(`crash images (no sync): ${crashImages.taken - images.taken} taken, ${crashImages.behindModel - images.behindModel} behind the last write`);
    expect(crashImages.taken - images.taken).toBeGreaterThan(300);
  }, 240_000); // about 300 ms a sequence on disk, 60-100 s on a loaded machine; each check reads every key by get and by getAll
  it('on disk with sync: true: a crash image between any two calls reopens to exactly the acknowledged writes (150 sequences)', async () => {
    // A 1 KiB memtable (logs rotate after about as much), bursts of small writes and some
    // 70 kB values (their run files are written in 4 KiB slices over several calls):
    // flushes, compactions and log rotations all the time, and crash images catch each half
    // done. A sync store acknowledges every write as durable, so the image must hold all of
    // them: exactly the model's state, versions included.
    const before = { ...crashImages };
    await runModel({ memtableBytes: 1024, blockBytes: 256, level0CompactionTrigger: 2, levelBaseBytes: 4096, sync: true }, 150, 1, true);
    const seen = Object.fromEntries(Object.entries(crashImages).map(([k, v]) => [k, v - before[k as keyof typeof crashImages]]));
    console.log(`crash images (sync): ${JSON.stringify(seen)}`);
    expect(seen.taken).toBeGreaterThan(300);
    expect(seen.behindModel).toBe(0);
    expect(seen.midFlush).toBeGreaterThan(0);
    expect(seen.midCompaction).toBeGreaterThan(0);
    expect(seen.severalLogs).toBeGreaterThan(0);
    expect(seen.unlistedRunFiles).toBeGreaterThan(0);
  }, 240_000);
});
