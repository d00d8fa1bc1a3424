// OPFS persistence (bindings/storage/persistence-opfs.ts, docs/FORMAT.md "OPFS (browsers)") in real
// headless Chromium (scripts/chromium.mjs): stores opened with `path` in dedicated
// Workers of one page, whose Origin Private File System lives in the browser context's
// profile, so it survives page.reload(). Every store runs the built dist/browser.js.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../scripts/chromium.mjs';
import { OpfsPage, type WorkerFn } from './support/opfs-page.js';
import { bundleForBrowser } from '../scripts/browser-bundle.mjs';
import { startStaticServer, type StaticServer } from '../scripts/static-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = chromiumOrSkip('test/browser-opfs.test.ts');

describe.runIf(bin)('OPFS persistence in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let op: OpfsPage;
  const bundles = mkdtempSync(join(tmpdir(), 'strata-opfs-bundles-'));

  beforeAll(async () => {
    await bundleForBrowser({ entry: join(root, 'test/browser/opfs-level.mjs'), outfile: join(bundles, 'opfs-level.js') });
    server = await startStaticServer({ '/': root, '/.bundles/': bundles });
    browser = await launchChromium(bin);
    op = await OpfsPage.open(browser, `${server.url}test/browser/index.html`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(bundles, { recursive: true, force: true });
  });

  const startWorker = (name: string) => op.startWorker(name);
  const call = (name: string, fn: WorkerFn, arg?: unknown) => op.call(name, fn, arg);
  const failure = (name: string, fn: WorkerFn, arg?: unknown) => op.failure(name, fn, arg);

  // A run that never settles fails the walk, saying where it stood. About one walk in ten
  // used to hang inside an OPFS call (createSyncAccessHandle at open, reopen or in close's
  // task queue) until every File System call kept its handle referenced while pending
  // (storage/opfs-files.ts, held; test/browser-opfs-cache.test.ts has the workload that hung
  // almost every time).
  it('a failing OPFS disk: every write and flush of a workload failing in turn, or the quota filling there', async () => {
    await startWorker('faults');
    // The same checks as test/fault-injection.test.ts, on OPFS: FileSystemSyncAccessHandle's
    // write and flush are wrapped so that the n-th call (from when the workload starts) throws
    // as a failing disk (InvalidStateError) or a full quota (QuotaExceededError, and every
    // write after). After every call the store must read exactly the writes that returned;
    // at the end close() resolves only if nothing failed, and a reopen without faults holds
    // exactly the acknowledged writes with their versions. (truncate is left working: it is
    // how a refused log record is taken back, docs/FORMAT.md.)
    const r = await call('faults', async (strata, state, modes: string[]) => {
      const { codecs, StrataError } = strata;
      const proto = (globalThis as any).FileSystemSyncAccessHandle.prototype;
      const orig = { write: proto.write, flush: proto.flush };
      const f = { armed: false, paused: false, calls: 0, at: 0, mode: 'fail', full: false, hits: 0 };
      for (const name of ['write', 'flush'] as const) {
        proto[name] = function (this: unknown, ...a: unknown[]) {
          if (f.armed && !f.paused) {
            f.calls++;
            if (f.calls === f.at || f.full) {
              f.hits++;
              if (f.mode === 'full') f.full = true;
              throw new DOMException(`injected fault in ${name}`, f.mode === 'full' ? 'QuotaExceededError' : 'InvalidStateError');
            }
          }
          return orig[name].apply(this, a);
        };
      }
      const key = (i: number) => `k${String(i % 37).padStart(2, '0')}`;
      type Op = (s: any, m: Map<string, [string, number]>, seq: { n: number }) => unknown;
      const ops: Op[] = [];
      for (let i = 0; i < 60; i++) {
        const v = `${i}:${'x'.repeat((i * 53) % 400)}`;
        if (i % 11 === 5) ops.push(async (s) => s.flush());
        else if (i % 7 === 3) ops.push((s, m, q) => { s.putAll([[key(i), v], [key(i + 1), v]]); m.set(key(i), [v, ++q.n]); m.set(key(i + 1), [v, ++q.n]); });
        else if (i % 9 === 4) ops.push((s, m, q) => { s.delete(key(i)); m.delete(key(i)); q.n++; });
        else ops.push((s, m, q) => { s.put(key(i), v); m.set(key(i), [v, ++q.n]); });
      }
      const entries = (m: Map<string, [string, number]>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
      const digest = (s: any) => { const out: unknown[] = []; for (const [k, v] of s.all()) out.push([k, [v, s.getVersioned(k).version]]); return out; };
      const problems: string[] = [];
      let walked = 0, dirNo = 0, total = 0;
      let step = '';
      const runOnce = async (sync: boolean, at: number, mode: string) => {
        const path = `faults/${dirNo++}`;
        step = 'open';
        const options = { path, sync, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 4096, blockBytes: 512 };
        const s = await state.open(options);
        const m = new Map<string, [string, number]>(), seq = { n: 0 };
        Object.assign(f, { armed: true, paused: false, calls: 0, at, mode, full: false, hits: 0 });
        let failed = false;
        for (let i = 0; i < ops.length; i++) {
          step = `op ${i}, fault calls ${f.calls}, hits ${f.hits}`;
          const before = new Map(m), n0 = seq.n;
          try { await ops[i](s, m, seq); } catch (err) {
            if (!(err instanceof StrataError)) problems.push(`${at}/${mode}: op ${i} threw ${String(err)}`);
            failed = true;
            m.clear(); for (const [k, e] of before) m.set(k, e); seq.n = n0; // it changed nothing
          }
          f.paused = true;
          const now = JSON.stringify(digest(s)), want = JSON.stringify(entries(m));
          if (now !== want) problems.push(`${sync}/${at}/${mode}: after op ${i} the store reads ${now.slice(0, 120)}, expected ${want.slice(0, 120)}`);
          f.paused = false;
        }
        const calls = f.calls, hits = f.hits;
        f.armed = false;
        let closeError: any;
        step = `close, fault calls ${calls}, hits ${hits}`;
        await s.close().catch((err: any) => { closeError = err; });
        step = 'reopen';
        if (!failed && hits === 0 && closeError) problems.push(`${at}/${mode}: close failed with no fault: ${closeError.message}`);
        if (closeError && closeError.code !== 'IO_ERROR') problems.push(`${at}/${mode}: close failed with ${closeError.code}`);
        const r = await state.open({ ...options, sync: false });
        const got = JSON.stringify(digest(r)), want = JSON.stringify(entries(m));
        if (got !== want) problems.push(`${sync}/${at}/${mode}: after reopen ${got.slice(0, 120)}, expected ${want.slice(0, 120)}`);
        await r.close();
        return calls;
      };
      // A run that never settles fails the test at once, saying where it stood, rather than
      // at vitest's timeout.
      let phase = '';
      const watched = async <T,>(p: Promise<T>): Promise<T> => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          return await Promise.race([p, new Promise<T>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`a run did not settle in 30 s (${phase}; at ${step})`)), 30_000);
          })]);
        } finally {
          clearTimeout(timer);
        }
      };
      try {
        for (const sync of [false, true]) {
          phase = `sync ${sync}, counting`;
          total = await watched(runOnce(sync, Number.POSITIVE_INFINITY, 'fail'));
          for (let at = 1; at <= total; at++) {
            phase = `sync ${sync}, fault at call ${at} (${modes[at % modes.length]})`;
            await watched(runOnce(sync, at, modes[at % modes.length]));
            walked++;
          }
        }
      } catch (err: any) {
        problems.push(String(err?.message ?? err));
      } finally {
        proto.write = orig.write;
        proto.flush = orig.flush;
      }
      return { walked, total, problems: problems.slice(0, 10) };
    }, ['fail', 'full']);
    expect(r.problems).toEqual([]);
    expect(r.total).toBeGreaterThan(20);
    expect(r.walked).toBeGreaterThan(40);
    console.log(`OPFS fault injection: ${r.walked} failure points walked`);
  }, 300_000);

  it('refuses a path on the main thread: OPFS needs a dedicated Worker', async () => {
    const r = await op.page.evaluate(async () => {
      const { Store } = (window as any).strata;
      return Store.open({ path: 'main' }).then(() => 'opened', (e: any) => `${e.code} ${e.message}`);
    });
    expect(r).toMatch(/^INVALID_ARGUMENT .*OPFS.*dedicated Worker/);
  });

  it('keeps every key, value and version across a page reload, from run files and the log', async () => {
    await startWorker('a');
    const before = await call('a', async (strata, state) => {
      const { codecs } = strata;
      const s = await state.open({ path: 'reload/store', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10 });
      state.s = s;
      const key = (i: number) => `k${String(i).padStart(5, '0')}`;
      for (let i = 0; i < 3000; i++) s.put(key(i), `v${i}`);
      s.putAll([[key(10), 'batch-10'], [key(11), 'batch-11'], ['big-1', 'x'.repeat(300_000)]]);
      s.delete(key(12));
      s.deleteAll([key(13), key(14)]);
      s.write([{ type: 'put', key: 'w', value: '' }, { type: 'del', key: key(15) }]);
      s.putIfVersion(key(16), 'cas', s.getVersioned(key(16)).version);
      await s.flush(); // everything so far in run files and a manifest
      // Then writes in several tasks, several memtables' worth (runs are written between
      // them and the log changes slot), and a last tail still in the memtable when the page goes.
      for (let i = 3000; i < 6000; i++) {
        s.put(key(i), `late${i}`);
        if (i % 500 === 0) await new Promise((r) => setTimeout(r, 0));
      }
      s.put('big-2', 'y'.repeat(200_000));
      s.putAll([[key(1), 'tail-1'], [key(2), 'tail-2']]);
      s.delete(key(3));
      s.put('last', 'written just before the reload');
      await new Promise((r) => setTimeout(r, 50)); // let a run-writing task start or finish
      const st = s.stats();
      return { digest: state.digest(s), sequence: st.sequence, memtable: st.memtable.entries, files: await state.files('reload/store') };
    });
    expect(before.files).toEqual(expect.arrayContaining(['LOCK', 'MANIFEST-0', 'MANIFEST-1', 'WAL-0', 'WAL-1']));
    expect(before.files.filter((f: string) => /^\d{6}\.run$/.test(f)).length).toBeGreaterThan(0);
    expect(before.digest.length).toBe(6000 - 5 + 4);
    expect(before.memtable).toBeGreaterThan(0); // only the log has these when the page goes

    await op.reload(); // the worker ends with the store open: no close, no flush
    await startWorker('b');
    const after = await call('b', async (strata, state) => {
      const { codecs } = strata;
      const s = await state.open({ path: 'reload/store', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10 });
      const digest = state.digest(s);
      const sequence = s.stats().sequence;
      s.put('next', 'n');
      const next = s.getVersioned('next').version;
      await s.close();
      const again = await state.open({ path: 'reload/store', keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
      const reopened = state.digest(again);
      const slot = await (await (await state.dir('reload/store')).getFileHandle('MANIFEST-0')).getFile();
      await again.close();
      return { digest, sequence, next, reopened, manifestHead: (await slot.text()).slice(0, 18) };
    });
    expect(after.digest).toEqual(before.digest);
    expect(after.sequence).toBe(before.sequence);
    expect(after.next).toBe(before.sequence + 1);
    expect(after.reopened).toEqual([...before.digest, ['next', 1, 'n'.charCodeAt(0), before.sequence + 1]]
      .sort((x, y) => (x[0] < y[0] ? -1 : 1)));
    expect(after.manifestHead).toBe('strata-manifest 1 ');
  });

  it('a worker ended at any moment of writing reopens with every write it acknowledged, and no gap', async () => {
    for (const [round, atLeast] of [[0, 2000], [1, 7000], [2, 4500]] as const) {
      await startWorker(`w${round}`);
      // Writes in tasks of 100 puts; after each task's records are written out (the await
      // lets the log's microtask run first) it reports how many; never returns.
      const writing = call(`w${round}`, async (strata, state, round) => {
        const { codecs } = strata;
        const s = await state.open({ path: 'killed', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 16 << 10 });
        let n = s.stats().sequence;
        for (;;) {
          for (let j = 0; j < 100; j++, n++) s.put(`k${String(n).padStart(7, '0')}`, `${round}:${n}:${'v'.repeat(n % 200)}`);
          await null;
          postMessage({ progress: n });
          await new Promise((r) => setTimeout(r, 0));
        }
      }, round).catch(() => 'ended');
      await op.page.waitForFunction(([name, n]) => ((window as any).progress[name] ?? 0) >= n, [`w${round}`, atLeast] as const, { timeout: 20_000 });
      const acknowledged: number = await op.progress(`w${round}`);
      await op.reload();
      expect(await writing).toBe('ended');
      await startWorker(`r${round}`);
      const r = await call(`r${round}`, async (strata, state) => {
        const { codecs } = strata;
        const s = await state.open({ path: 'killed', keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
        let n = 0, bad = '';
        for (const [k, v] of s.all()) {
          const i = Number(k.slice(1));
          const version = s.getVersioned(k).version;
          if (!bad && (i !== n || !v.startsWith(`${v.split(':')[0]}:${i}:`) || v.length - v.indexOf(':', v.indexOf(':') + 1) - 1 !== i % 200 || version !== i + 1)) {
            bad = `${k} = ${v.slice(0, 20)} v${version} at ${n}`;
          }
          n++;
        }
        await s.close();
        return { n, bad };
      });
      expect(r.bad).toBe('');
      expect(r.n).toBeGreaterThanOrEqual(acknowledged);
    }
  });

  it('a second open of an open directory is LOCKED, in the same worker and in another', async () => {
    await startWorker('c');
    await startWorker('d');
    await call('c', async (_strata, state) => { state.s = await state.open({ path: 'locked' }); state.s.put(new Uint8Array([1]), new Uint8Array([2])); });
    expect(await failure('c', (strata) => strata.Store.open({ path: 'locked' }))).toMatch(/^LOCKED: .*locked.*this worker/);
    expect(await failure('d', (strata) => strata.Store.open({ path: 'locked' }))).toMatch(/^LOCKED: .*locked.*another worker/);
    expect(await failure('d', (strata) => strata.Store.open({ path: '/locked/' }))).toMatch(/^LOCKED/);
    await call('c', (_strata, state) => state.s.close());
    const got = await call('d', async (strata, _state) => {
      const s = await strata.Store.open({ path: 'locked' });
      const v = [...s.get(new Uint8Array([1]))];
      await s.close();
      return v;
    });
    expect(got).toEqual([2]);
  });

  it('a flipped byte in a run file is CORRUPTION naming the file and offset; a ttl store refuses to open without ttlMs', async () => {
    await startWorker('e');
    const run = await call('e', async (strata, state) => {
      const s = await strata.Store.open({ path: 'corrupt', memtableBytes: 16 << 10 });
      for (let i = 0; i < 2000; i++) s.put(new TextEncoder().encode(`key${i}`), new Uint8Array(20).fill(i & 0xff));
      await s.close();
      const run = (await state.files('corrupt')).find((f: string) => f.endsWith('.run'));
      const h = await (await (await state.dir('corrupt')).getFileHandle(run)).createSyncAccessHandle();
      const b = new Uint8Array(1);
      h.read(b, { at: 100 });
      b[0] ^= 0x40;
      h.write(b, { at: 100 });
      h.close();
      return run;
    });
    const message = await failure('e', (strata) => strata.Store.open({ path: 'corrupt' }));
    expect(message).toMatch(new RegExp(`^CORRUPTION: corrupt/${run} at offset \\d+`));
    // The failed open released the directory.
    expect(await failure('e', (strata) => strata.Store.open({ path: 'corrupt' }))).toMatch(/^CORRUPTION/);

    const ttl = await call('e', async (strata, _state) => {
      const s = await strata.Store.open({ path: 'ttl', ttlMs: 60_000, keyCodec: strata.codecs.utf8, valueCodec: strata.codecs.utf8 });
      s.put('a', 'b');
      await s.close();
      const again = await strata.Store.open({ path: 'ttl', ttlMs: 60_000, keyCodec: strata.codecs.utf8, valueCodec: strata.codecs.utf8 });
      const v = again.get('a');
      await again.close();
      return v;
    });
    expect(ttl).toBe('b');
    expect(await failure('e', (strata) => strata.Store.open({ path: 'ttl' }))).toMatch(/^INVALID_ARGUMENT: .*ttlMs/);
  });

  it('a store whose changelog is its log reopens from its checkpoint, the changelog supplying the rest', async () => {
    await startWorker('f');
    const first = await call('f', async (strata, state) => {
      const { Store, MemoryChangelog, codecs } = strata;
      const changelog = new MemoryChangelog();
      const s = await Store.open({ path: 'changelog', changelog, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 16 << 10 });
      for (let i = 0; i < 1500; i++) s.put(`k${i}`, `v${i}`);
      s.deleteAll(['k1', 'k2']);
      const cp = await s.checkpoint();
      for (let i = 1000; i < 1800; i++) s.put(`k${i}`, `after${i}`); // only in the changelog
      s.delete('k3');
      const records = [...changelog.read(0)].map((r: any) => ({ partition: r.partition, seq: r.seq, key: r.key, value: r.value }));
      return { cp, records, digest: state.digest(s), files: await state.files('changelog') };
    });
    expect(first.files.some((f: string) => f.startsWith('WAL'))).toBe(false); // writes touch no file
    expect(first.cp.seq).toBe(1502);
    await op.reload();
    await startWorker('g');
    const second = await call('g', async (strata, state, { cp, records }) => {
      const { MemoryChangelog, codecs } = strata;
      // The changelog as a durable one would keep it, here only the records after the
      // checkpoint: everything up to it must come from the directory.
      const changelog = new MemoryChangelog();
      changelog.append(records.filter((r: any) => r.seq > cp.seq));
      const s = await state.open({ path: 'changelog', changelog, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
      const digest = state.digest(s);
      await s.close();
      return digest;
    }, { cp: first.cp, records: first.records });
    expect(second).toEqual(first.digest);
  });

  it('partitions keep their own directories (path/partition-i)', async () => {
    await startWorker('h');
    const r = await call('h', async (strata, state) => {
      const { PartitionedStore, codecs } = strata;
      const open = () => PartitionedStore.open({ path: 'parts', partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
      const ps = await open();
      for (let i = 0; i < 300; i++) ps.put(`k${i}`, `v${i}`);
      await ps.close();
      const again = await open();
      const n = [...again.all()].length;
      const v = again.get('k123');
      await again.close();
      return { n, v, dirs: await state.files('parts') };
    });
    // `partitioning` records the count (partition-count.ts).
    expect(r).toEqual({ n: 300, v: 'v123', dirs: ['partition-0', 'partition-1', 'partition-2', 'partitioning'] });
  });

  it('StrataLevel keeps a location in OPFS: createIfMissing, errorIfExists, data across reopen', async () => {
    await startWorker('level');
    const r = await call('level', async () => {
      // (import() written as a string: vitest rewrites the import() calls of test files)
      // biome-ignore lint/complexity/noCommaOperator: indirect eval, global scope, on purpose
      // biome-ignore lint/security/noGlobalEval: runs this test's own text, in the test's page
      const { StrataLevel } = await (0, eval)("import('/.bundles/opfs-level.js')");
      const outcome = (p: Promise<unknown>) => p.then(() => 'opened', (e: any) => e.code);
      const missing = new StrataLevel('level/missing', { createIfMissing: false });
      const db = new StrataLevel('level/db', { valueEncoding: 'json' });
      await db.put('a', { n: 1 });
      await db.batch([{ type: 'put', key: 'b', value: { n: 2 } }, { type: 'del', key: 'a' }]);
      await db.close();
      const exclusive = new StrataLevel('level/db', { errorIfExists: true });
      const again = new StrataLevel('level/db', { valueEncoding: 'json', createIfMissing: false });
      await again.open();
      const out = {
        missing: await outcome(missing.open()), exists: await outcome(exclusive.open()),
        entries: await again.iterator().all(),
      };
      await again.close();
      return out;
    });
    expect(r).toEqual({ missing: 'LEVEL_DATABASE_NOT_OPEN', exists: 'LEVEL_DATABASE_NOT_OPEN', entries: [['b', { n: 2 }]] });
  });
});
