// Checkpoints, modelled: a store with a directory whose changelog is its log runs random
// writes, checkpoints and crashes. A crash keeps what a killed process would leave: the
// directory as it is at that instant (every file operation here is synchronous, so a copy
// between two operations is a crash image) and the changelog records that were flushed
// (LossySink drops what it buffered). The property: reopening the image with the surviving
// changelog gives exactly the state a full restore of that changelog gives — checkpoint +
// tail restore ≡ full restore, versions included — and never less than the last checkpoint.
// Crashes land between any two checkpoint steps through LossySink's flush hooks.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, FileChangelog, MemoryChangelog, codecs, type ChangeRecord, type ChangelogSink, type ChangelogSource } from 'strata-kv';
import { SortedModel, hex, unhex } from './support/model.js';
import { copyCrashImage } from './support/crash-image.js';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-ckpt-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A changelog that loses what was appended since its last flush when the process "dies". */
class LossySink implements ChangelogSink, ChangelogSource {
  private buffer: ChangeRecord[] = [];
  dead = false;
  /** Called at the start and at the end of flush: a test may take a crash image there. */
  onFlush: ((when: 'before' | 'after') => void) | undefined;
  constructor(readonly durable: ChangeRecord[]) {}
  append(records: ChangeRecord[]): void { if (!this.dead) this.buffer.push(...records); }
  async flush(): Promise<void> {
    if (this.dead) return;
    this.onFlush?.('before');
    this.durable.push(...this.buffer);
    this.buffer = [];
    this.onFlush?.('after');
  }
  read(_partition: number, fromSeq = 0): Iterable<ChangeRecord> { return this.durable.filter((r) => r.seq >= fromSeq); }
}

/** The state a full restore of `records` gives, built without the engine. */
function modelOf(records: ChangeRecord[]): SortedModel {
  const m = new SortedModel();
  for (const r of records) {
    if (r.value === null) m.map.delete(hex(r.key)); else m.map.set(hex(r.key), { value: r.value, version: r.seq });
    m.seq = r.seq;
  }
  return m;
}

async function expectState(store: Store, m: SortedModel): Promise<void> {
  const got = [...store.all()].map(([k, v]) => [hex(k), hex(v), store.getVersioned(k)!.version]);
  const want = [...m.map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, e]) => [k, hex(e.value), e.version]);
  expect(got).toEqual(want);
}

interface World {
  dir: string;
  sink: LossySink;
  store: Store;
  /** The last sequence a checkpoint returned. */
  checkpointed: number;
}

const open = (dir: string, sink: LossySink) => Store.open({ path: dir, changelog: sink, memtableBytes: 512, level0CompactionTrigger: 2 });

/** Kills the world at a crash image: the old store is abandoned (its sink goes dead). */
async function reopenFrom(w: World, image: string, durable: ChangeRecord[]): Promise<void> {
  w.sink.dead = true;
  await w.store.close().catch(() => {}); // releases the lock of a directory no one uses again
  const sink = new LossySink(durable.slice());
  const store = await open(image, sink);
  const expected = modelOf(sink.durable);
  await expectState(store, expected);
  expect(store.stats().sequence).toBe(expected.seq);
  expect(expected.seq).toBeGreaterThanOrEqual(w.checkpointed); // a checkpoint is never lost
  Object.assign(w, { dir: image, sink, store });
}

function crashImage(w: World): { image: string; durable: ChangeRecord[] } {
  const image = freshDir();
  copyCrashImage(w.dir, image);
  return { image, durable: w.sink.durable.slice() };
}

type Cmd = fc.AsyncCommand<object, World>;
const keyArb = fc.constantFrom('a', 'ab', 'b', 'c', 'd', 'e').map((s) => new TextEncoder().encode(s));
const valueArb = fc.uint8Array({ maxLength: 40 });
const cmd = (name: string, run: (w: World) => void | Promise<void>): Cmd => ({
  check: () => true, run: async (_m, w) => { await run(w); }, toString: () => name,
});

const commands = [
  fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put ${hex(k)}`, (w) => w.store.put(k, v))),
  keyArb.map((k) => cmd(`delete ${hex(k)}`, (w) => w.store.delete(k))),
  fc.array(fc.tuple(keyArb, valueArb), { maxLength: 5 }).map((es) => cmd(`putAll ${es.length}`, (w) => w.store.putAll(es))),
  keyArb.map((k) => cmd(`putIfVersion ${hex(k)}`, (w) => {
    w.store.putIfVersion(k, new Uint8Array([1]), w.store.getVersioned(k)?.version ?? 0);
  })),
  fc.constant(cmd('checkpoint', async (w) => { w.checkpointed = (await w.store.checkpoint()).seq; })),
  fc.constant(cmd('crash', async (w) => { const c = crashImage(w); await reopenFrom(w, c.image, c.durable); })),
  fc.constantFrom('before' as const, 'after' as const).map((when) => cmd(`crash ${when} the sinks flush in a checkpoint`, async (w) => {
    let c: ReturnType<typeof crashImage> | undefined;
    w.sink.onFlush = (at) => { if (at === when) c = crashImage(w); };
    await w.store.checkpoint(); // completes, but the world died at `when`
    await reopenFrom(w, c!.image, c!.durable);
  })),
];

describe('checkpoint + tail restore ≡ full restore (fast-check)', () => {
  it('holds across random writes, checkpoints and crashes between any two steps', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
      const dir = freshDir();
      const sink = new LossySink([]);
      const w: World = { dir, sink, store: await open(dir, sink), checkpointed: 0 };
      try {
        await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
        const c = crashImage(w);
        await reopenFrom(w, c.image, c.durable);
      } finally {
        await w.store.close();
      }
    }), { numRuns: 120 });
  }, 120_000);
});

describe('checkpoint', () => {
  it('reopens from the checkpoint and restores only the records after it', async () => {
    const dir = freshDir();
    const sink = new LossySink([]);
    const store = await open(dir, sink);
    for (let i = 0; i < 200; i++) store.put(unhex((1000 + i).toString(16).padStart(4, '0')), new Uint8Array([i]));
    const cp = await store.checkpoint();
    expect(cp.seq).toBe(200);
    for (let i = 0; i < 30; i++) store.delete(unhex((1000 + i).toString(16).padStart(4, '0')));
    await sink.flush(); // the tail reaches the changelog, not the directory
    const image = crashImage({ dir, sink, store, checkpointed: cp.seq });
    await store.close();

    const reopened = new LossySink(image.durable);
    const read: number[] = [];
    const source = { read: (p: number, from?: number) => { read.push(from ?? 0); return reopened.read(p, from); } };
    const progress: number[] = [];
    const again = await Store.open({ path: image.image, changelog: reopened, restoreFrom: source, onRestoreProgress: (p) => progress.push(p.records) });
    expect(read).toEqual([201]); // only after the checkpoint
    expect(progress.at(-1)).toBe(30);
    await expectState(again, modelOf(image.durable));
    again.put(unhex('ff'), new Uint8Array(0));
    expect(again.getVersioned(unhex('ff'))!.version).toBe(231); // versions go on above the restored ones
    await again.close();

    // Without the changelog the directory alone holds the last checkpoint (close made one).
    const local = await Store.open({ path: image.image, restoreFrom: false });
    expect(local.stats().sequence).toBe(231);
    await local.close();
  });

  it('writes no local file between checkpoints when the changelog is the log', async () => {
    const dir = freshDir();
    const sink = new LossySink([]);
    const store = await open(dir, sink);
    const { readdirSync } = await import('node:fs');
    const before = readdirSync(dir).sort();
    for (let i = 0; i < 500; i++) store.put(new Uint8Array([i & 255, i >> 8]), new Uint8Array(32));
    expect(readdirSync(dir).sort()).toEqual(before); // memtable flushes happened, files did not
    expect(before.some((n) => n.endsWith('.wal'))).toBe(false);
    await store.checkpoint();
    expect(readdirSync(dir).some((n) => n.endsWith('.run'))).toBe(true);
    await store.close();
  });

  it('refuses sync: true without a local log, and a restoreFrom that cannot be read', async () => {
    const dir = freshDir();
    await expect(Store.open({ path: dir, changelog: new LossySink([]), sync: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(Store.open({ path: dir, restoreFrom: {} as ChangelogSource })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const s = await Store.open({ path: dir, changelog: new LossySink([]), sync: true, restoreFrom: false }); // the WAL mode
    await s.close();
  });

  it('a sink whose flush fails leaves the previous checkpoint in force', async () => {
    const dir = freshDir();
    const sink = new LossySink([]);
    const store = await open(dir, sink);
    store.put(unhex('01'), unhex('aa'));
    await store.checkpoint();
    store.put(unhex('02'), unhex('bb'));
    sink.onFlush = () => { throw new Error('changelog unavailable'); };
    await expect(store.checkpoint()).rejects.toThrow('changelog unavailable');
    const image = crashImage({ dir, sink, store, checkpointed: 1 });
    sink.onFlush = undefined;
    sink.dead = true;
    // The sink may have lost what it buffered: the store stops (docs/API.md, "Failures").
    expect(() => store.put(unhex('03'), unhex('cc'))).toThrow(expect.objectContaining({ code: 'IO_ERROR' }));
    await expect(store.close()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const local = await Store.open({ path: image.image, restoreFrom: false });
    expect(local.stats().sequence).toBe(1);
    expect(local.get(unhex('02'))).toBeUndefined();
    await local.close();
  });

  it('a changelog that ends before the checkpoint is CORRUPTION at open, not a store ahead of it', async () => {
    // Found by the hunt's damage walk: a FileChangelog (sync: true, so the checkpoint's
    // flush fsynced every record) cut in half reopens as a torn tail, 49 of 100 records.
    // The store opened at its checkpoint (seq 100) and went on: its next write went to the
    // changelog as seq 101 after 49, and a replica restored from it had 50 of 101 keys.
    const dir = freshDir(), logDir = freshDir();
    const openIt = (changelog: ChangelogSink) => Store.open<string, string>({ path: dir, changelog, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    const s = await openIt(new FileChangelog(logDir, { sync: true }));
    for (let i = 0; i < 100; i++) s.put(`k${i}`, `v${i}`);
    expect((await s.checkpoint()).seq).toBe(100);
    await s.close();
    const segment = join(logDir, 'p-0', readdirSync(join(logDir, 'p-0'))[0]);
    truncateSync(segment, Math.floor(statSync(segment).size / 2));
    const cut = new FileChangelog(logDir, { sync: true });
    expect(cut.lastSeq(0)).toBe(49);
    const err = await openIt(cut).then(async (opened) => { await opened.close(); return undefined; }, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'CORRUPTION' });
    expect(String(err)).toContain(logDir);
    expect(String(err)).toContain(dir);
    await cut.close();
    // Another (here empty) changelog is the same: it does not hold what the checkpoint says.
    await expect(openIt(new MemoryChangelog())).rejects.toMatchObject({ code: 'CORRUPTION' });
    // The directory alone still opens, at its checkpoint.
    const local = await Store.open({ path: dir, restoreFrom: false });
    expect(local.stats().sequence).toBe(100);
    await local.close();
  });
});

