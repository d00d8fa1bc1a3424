// Run files and manifests written off the store's thread (docs/LSM.md, "Background file
// writing"), with the real file worker (dist/file-worker.js): the manifest names only files
// written whole, the logs and the runs in memory stay bounded while the worker lags, a
// worker that exits makes the store read-only with nothing acknowledged lost, and where the
// worker is not used the files are written as before. The orders of tasks against writes
// are explored with scheduled tasks in compaction-slices.test.ts; faults in each task in
// fault-injection.test.ts; kills mid-task in durability.test.ts.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs, type StoreOptions } from 'strata-kv';
import { InlineExecutor } from '../bindings/background/inline-executor.js';
import { DeferredFileTasks } from '../bindings/storage/deferred-file-tasks.js';
import { crashWorker } from './support/crash-worker.js';
import type { Worker } from 'node:worker_threads';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-files-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const OPTS: StoreOptions<string, string> = { keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 64 << 10 };
const key = (i: number) => `k${String((i * 7919) % 100_003).padStart(6, '0')}`;
const value = (i: number) => `v${i}-`.padEnd(100 + (i % 50), 'x');
const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const listed = (dir: string) => (JSON.parse(readFileSync(join(dir, 'MANIFEST'), 'utf8').split('\n')[1]).levels as number[][]).flat();
const runFile = (id: number) => `${String(id).padStart(6, '0')}.run`;

async function codeOf(fn: () => unknown): Promise<string> {
  try { await fn(); } catch (err) { if (err instanceof StrataError) return err.code; throw err; }
  return 'no error';
}

describe('run files written by the file worker', () => {
  it('the worker writes them; every file the manifest names is there whole; reopen reads every write', async () => {
    const path = freshDir();
    const s = await Store.open<string, string>({ ...OPTS, path });
    const expected = new Map<string, string>();
    let checks = 0;
    for (let i = 0; i < 30_000; i++) {
      s.put(key(i), value(i));
      expected.set(key(i), value(i));
      if (i % 1000 === 999) {
        // A file the manifest names was written whole before the manifest: its footer is
        // there (a size the footer's 48 bytes exceed), whatever the worker does now.
        for (const id of listed(path)) expect(statSync(join(path, runFile(id))).size).toBeGreaterThan(48);
        checks++;
      }
    }
    const st = s.stats().background!;
    expect(st.fileTasks).toBeGreaterThan(20);
    expect(st.fileBytes).toBeGreaterThan(1 << 20); // the flushes' runs went through the worker
    expect(checks).toBe(30);
    await s.close();
    const files = readdirSync(path).filter((n) => n.endsWith('.run')).map((n) => Number(n.slice(0, -4))).sort((a, b) => a - b);
    expect(files).toEqual(listed(path).sort((a, b) => a - b)); // close waited for every task
    const r = await Store.open<string, string>({ ...OPTS, path });
    expect([...r.all()]).toEqual(sorted(expected));
    await r.close();
  });

  it('a worker that never runs a task on its own: the store waits for it, so logs, runs in memory and the manifest stay bounded', async () => {
    // Tasks run only when the store waits for them: the slowest disk there can be.
    const tasks = new DeferredFileTasks();
    const path = freshDir();
    const s = await Store.open<string, string>({ ...OPTS, path, background: await InlineExecutor.create({ eager: true, fileTasks: tasks }) });
    const memtableBytes = OPTS.memtableBytes!;
    // A log deleted between the listing and its stat counts nothing.
    const logBytes = () => readdirSync(path).filter((n) => n.endsWith('.wal')).reduce((sum, n) => sum + (statSync(join(path, n), { throwIfNoEntry: false })?.size ?? 0), 0);
    let mostLogs = 0, mostPending = 0, mostEngine = 0;
    const manifests = new Set<string>();
    const expected = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      s.put(key(i), value(i));
      expected.set(key(i), value(i));
      mostPending = Math.max(mostPending, tasks.pendingBytes);
      if (i % 250 === 0) {
        mostLogs = Math.max(mostLogs, logBytes());
        mostEngine = Math.max(mostEngine, s.stats().engineBytes);
        manifests.add(listed(path).join(','));
      }
    }
    expect(tasks.ran).toBeGreaterThan(20);
    // In flight: at most 8 slices (a quarter of the memtable each here) and the slice that
    // crossed the bound; unwritten runs: 2 memtables, then a call drains them all.
    expect(mostPending).toBeLessThanOrEqual(9 * (memtableBytes / 4));
    expect(mostLogs).toBeLessThan(12 * memtableBytes);
    expect(mostEngine).toBeLessThan(40 * memtableBytes);
    expect(manifests.size).toBeGreaterThan(10);
    await s.close();
    const r = await Store.open<string, string>({ ...OPTS, path });
    expect([...r.all()]).toEqual(sorted(expected));
    await r.close();
  });

  it('a worker that exits: the store turns read-only (IO_ERROR) and a reopen has every acknowledged write', async () => {
    const path = freshDir();
    const s = await Store.open<string, string>({ ...OPTS, path });
    const expected = new Map<string, string>();
    for (let i = 0; i < 5000; i++) { s.put(key(i), value(i)); expected.set(key(i), value(i)); }
    const tasks = (s as unknown as { disk: { tasks: { worker: { terminate(): Promise<number> } } } }).disk.tasks;
    await tasks.worker.terminate();
    await idle(20); // its 'exit' reaches the store
    let refused = '';
    for (let i = 5000; i < 40_000 && refused === ''; i++) {
      try { s.put(key(i), value(i)); expected.set(key(i), value(i)); } catch (err) { refused = (err as StrataError).code; }
    }
    expect(refused).toBe('IO_ERROR');
    expect(await codeOf(() => s.close())).toBe('IO_ERROR'); // not everything is in run files
    const r = await Store.open<string, string>({ ...OPTS, path });
    expect([...r.all()]).toEqual(sorted(expected));
    await r.close();
  });

  it('a worker that dies while the store is blocked on it: the wait ends at once (IO_ERROR), not at its 120 s bound', async () => {
    const path = freshDir();
    const s = await Store.open<string, string>({ ...OPTS, path });
    const expected = new Map<string, string>();
    for (let i = 0; i < 5000; i++) { s.put(key(i), value(i)); expected.set(key(i), value(i)); }
    await s.flush(); // the worker is up and knows the store
    const tasks = (s as unknown as { disk: { tasks: { worker: Worker; thread: { gone: Int32Array } } } }).disk.tasks;
    crashWorker(tasks.worker, tasks.thread.gone);
    // From here to the refusal the event loop does not turn: the puts queue tasks until one
    // must wait for the worker, and only the flag the worker raised on its way out tells it.
    const started = performance.now();
    let refused = '';
    for (let i = 5000; i < 40_000 && refused === ''; i++) {
      try { s.put(key(i), value(i)); expected.set(key(i), value(i)); } catch (err) { refused = (err as StrataError).code; }
    }
    expect(refused).toBe('IO_ERROR');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await codeOf(() => s.close())).toBe('IO_ERROR');
    const r = await Store.open<string, string>({ ...OPTS, path });
    expect([...r.all()]).toEqual(sorted(expected));
    await r.close();
  });

  it('where the worker is not used, the store\'s thread writes the files: background off, a tight memory cap', async () => {
    for (const extra of [{ background: false }, { maxMemoryBytes: 2 << 20, memtableBytes: 256 << 10 }]) {
      const path = freshDir();
      const s = await Store.open<string, string>({ ...OPTS, ...extra, path });
      for (let i = 0; i < 10_000; i++) s.put(key(i), value(i));
      expect(s.stats().background?.fileTasks ?? 0).toBe(0);
      expect(listed(path).length).toBeGreaterThan(0);
      await s.close();
    }
  });
});
