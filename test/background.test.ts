// Compactions on the background worker thread (docs/LSM.md, "Background compaction"), with
// the real worker (dist/compaction-worker.js): the store's writes never merge, its reads stay
// exact while jobs come and go, close() and compact() settle the job out, a worker that dies
// hands compaction back to slices with nothing lost, and runs holding merge operands are
// merged on the store's thread. The interleavings are explored with a scheduled worker in
// compaction-slices.test.ts; faults on the worker's files in fault-injection.test.ts.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, PartitionedStore, codecs, type StoreOptions } from 'strata-kv';
import { poolSize } from '../bindings/background/worker-pool.js';
import { crashWorker } from './support/crash-worker.js';
import type { Worker } from 'node:worker_threads';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-bg-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

// background: true, as a store in memory compacts in slices by default.
const SMALL: StoreOptions<string, string> = { keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 16 << 10, blockBytes: 1024, background: true };
const key = (i: number) => `k${String((i * 7919) % 100_003).padStart(6, '0')}`;
const value = (i: number) => `v${i}-${'x'.repeat(i % 40)}`;
const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes n puts (every 7th a delete of an earlier key); returns the expected contents. */
function fill(s: Store<string, string>, n: number, from = 0, expected = new Map<string, string>()): Map<string, string> {
  for (let i = from; i < from + n; i++) {
    if (i % 7 === 3) { s.delete(key(i - 3)); expected.delete(key(i - 3)); } else { s.put(key(i), value(i)); expected.set(key(i), value(i)); }
  }
  return expected;
}
const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
/** Run files in a directory, and those its MANIFEST lists. */
function runFiles(dir: string): { files: number[]; listed: number[] } {
  const files = readdirSync(dir).filter((n) => n.endsWith('.run')).map((n) => Number(n.slice(0, -4))).sort((a, b) => a - b);
  const listed = (JSON.parse(readFileSync(join(dir, 'MANIFEST'), 'utf8').split('\n')[1]).levels as number[][]).flat().sort((a, b) => a - b);
  return { files, listed };
}

describe('compactions on the background worker', () => {
  for (const where of ['in memory', 'with a directory'] as const) {
    it(`${where}: writes never merge, jobs are installed, reads stay exact`, async () => {
      const path = where === 'with a directory' ? freshDir() : undefined;
      const s = await Store.open<string, string>({ ...SMALL, path });
      let localSlices = 0;
      const expected = new Map<string, string>();
      for (let round = 0; round < 20; round++) {
        fill(s, 2000, round * 2000, expected);
        if (s.stats().compaction.running === 1) localSlices++;
        if (round % 5 === 4) await idle(20); // results also arrive while idle
      }
      const st = s.stats();
      expect(st.background).toBeDefined();
      expect(st.background!.jobs).toBeGreaterThan(5);
      expect(st.background!.lost).toBeUndefined();
      expect(localSlices).toBe(0); // no compaction ran in slices on this thread
      expect([...s.all()]).toEqual(sorted(expected));
      for (let i = 0; i < 40_000; i += 101) expect(s.get(key(i))).toBe(expected.get(key(i)));
      await s.close();
      if (path) {
        // close() waited for the job out: every run file is one the manifest lists.
        const { files, listed } = runFiles(path);
        expect(files).toEqual(listed);
        const r = await Store.open<string, string>({ ...SMALL, path });
        expect([...r.all()]).toEqual(sorted(expected));
        await r.close();
      }
    });
  }

  // Regression (bench:growth --disk at 10M): a resident input is copied out over several
  // calls while its run file is written over the same calls; once the file was durable the
  // run left memory mid-copy, the copy failed as a "bug", and compaction fell back to
  // slices for good. It now goes by its file from there.
  it('with a directory: an input whose file becomes durable while it is copied goes by its file', async () => {
    const path = freshDir();
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, path }); // background by default
    const expected = new Map<string, string>();
    // Values of 32 KiB: each call writes its run files' slice plus 16 bytes a byte written
    // (1.5 MiB), faster than the copy's 1 MiB, so a file completes while its run is copied.
    for (let i = 0; i < 3000; i++) { const k = key(i); const v = value(i).padEnd(32 << 10, 'y'); s.put(k, v); expected.set(k, v); }
    const st = s.stats().background!;
    expect(st.lost).toBeUndefined();
    expect(st.jobs).toBeGreaterThan(0); // how many depends on the file worker's timing too
    expect([...s.all()]).toEqual(sorted(expected));
    await s.close();
  });

  it('close() right after a burst waits for the job out and installs it', async () => {
    const path = freshDir();
    const s = await Store.open<string, string>({ ...SMALL, path });
    const expected = fill(s, 30_000);
    const before = s.stats().background!;
    await s.close();
    const { files, listed } = runFiles(path);
    expect(files).toEqual(listed);
    const r = await Store.open<string, string>({ ...SMALL, path, background: false });
    expect([...r.all()]).toEqual(sorted(expected));
    expect(r.stats().sequence).toBe(30_000);
    await r.close();
    expect(before.jobs + before.failed).toBeGreaterThan(0);
  });

  it('compact() settles the job out, then merges everything into one level', async () => {
    const s = await Store.open<string, string>({ ...SMALL });
    const expected = fill(s, 20_000);
    await s.compact();
    const st = s.stats();
    expect(st.background!.running).toBe(false);
    expect(st.levels.filter((l) => l.runs > 0).length).toBe(1);
    expect([...s.all()]).toEqual(sorted(expected));
    await s.close();
  });

  it('a worker that dies hands compaction back to slices on this thread; nothing is lost', async () => {
    const path = freshDir();
    const s = await Store.open<string, string>({ ...SMALL, path });
    const expected = fill(s, 10_000);
    expect(s.stats().background!.jobs + (s.stats().background!.running ? 1 : 0)).toBeGreaterThan(0);
    // The worker thread exits, as a crash of it would: its 'exit' reaches the store.
    const worker = (s as unknown as { background: { executor: { worker: { terminate(): Promise<number> } } } }).background.executor.worker;
    await worker.terminate();
    await idle(20);
    fill(s, 20_000, 10_000, expected);
    const st = s.stats();
    expect(st.background!.lost).toMatch(/background worker/);
    expect(st.counters.compactions).toBeGreaterThan(st.background!.jobs); // merged here since
    expect([...s.all()]).toEqual(sorted(expected));
    await s.close();
    const r = await Store.open<string, string>({ ...SMALL, path });
    expect([...r.all()]).toEqual(sorted(expected));
    await r.close();
  });

  it('a worker that dies while the store waits for its job: the wait ends at once, not at its 120 s bound', async () => {
    const s = await Store.open<string, string>({ ...SMALL });
    const expected = fill(s, 10_000);
    const executor = (s as unknown as { background: { executor: { worker: Worker; gone: Int32Array } } }).background.executor;
    crashWorker(executor.worker, executor.gone);
    // compact() settles the job out first: it waits for the worker before any await.
    const started = performance.now();
    fill(s, 10_000, 10_000, expected);
    await s.compact();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(s.stats().background!.lost).toMatch(/background worker/);
    expect([...s.all()]).toEqual(sorted(expected));
    await s.close();
  });

  it('stores share the process\'s workers: at most min(4, cores - 1), each store\'s jobs its own', async () => {
    const stores = await Promise.all(Array.from({ length: 6 }, () => Store.open<string, string>({ ...SMALL })));
    const expected = stores.map(() => new Map<string, string>());
    for (let round = 0; round < 5; round++) for (const [i, s] of stores.entries()) fill(s, 3000, round * 3000 + i, expected[i]);
    const workers = new Set(stores.map((s) => (s as unknown as { background: { executor?: { worker: unknown } } }).background.executor?.worker));
    workers.delete(undefined);
    expect(workers.size).toBeGreaterThan(0);
    expect(workers.size).toBeLessThanOrEqual(poolSize());
    for (const [i, s] of stores.entries()) {
      expect(s.stats().background!.jobs).toBeGreaterThan(0);
      expect([...s.all()]).toEqual(sorted(expected[i]));
      await s.close();
    }
  });

  it('a PartitionedStore: its partitions\' jobs run on the shared workers, and its stats sum them', async () => {
    const p = await PartitionedStore.open<string, string>({ ...SMALL, partitions: 4 });
    const expected = new Map<string, string>();
    for (let i = 0; i < 40_000; i++) { p.put(key(i), value(i)); expected.set(key(i), value(i)); }
    const st = p.stats();
    const parts = st.partitions.map((s) => s.background!);
    expect(st.background!.jobs).toBe(parts.reduce((n, b) => n + b.jobs, 0));
    expect(st.background!.jobs).toBeGreaterThan(4);
    for (let i = 0; i < 40_000; i += 97) expect(p.get(key(i))).toBe(expected.get(key(i)));
    await p.close();
  });

  it('runs holding merge operands are merged on this thread, where the operators are', async () => {
    const s = await Store.open<string, number>({ keyCodec: codecs.utf8, valueCodec: codecs.json, memtableBytes: 16 << 10, blockBytes: 1024, background: true });
    const counts = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const k = `c${i % 500}`;
      s.merge(k, 1, 'add');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const st = s.stats();
    expect(st.counters.compactions).toBeGreaterThan(0);
    expect(st.background!.jobs).toBe(0); // every compaction had operands: none went to the worker
    for (const [k, n] of counts) expect(s.get(k)).toBe(n);
    await s.close();
  });

  it('background: false keeps compaction in slices, with no worker and no background stats', async () => {
    const s = await Store.open<string, string>({ ...SMALL, background: false });
    fill(s, 20_000);
    expect(s.stats().background).toBeUndefined();
    expect(s.stats().counters.compactions).toBeGreaterThan(0);
    await s.close();
  });

  it('by default: on for a store with a directory and its log, off in memory and for a changelog-logged directory', async () => {
    const inMemory = await Store.open({});
    const withDir = await Store.open({ path: freshDir() });
    const checkpointed = await Store.open({ path: freshDir(), changelog: { append() {}, read: () => [] } as never });
    expect([inMemory, withDir, checkpointed].map((s) => s.stats().background !== undefined)).toEqual([false, true, false]);
    for (const s of [inMemory, withDir, checkpointed]) await s.close();
  });

  it('a bad background option is INVALID_ARGUMENT', async () => {
    await expect(Store.open({ background: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
