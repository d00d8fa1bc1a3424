// OPFS stores larger than memory (bindings/storage/opfs-run-files.ts, docs/FORMAT.md "OPFS
// (browsers)") in real headless Chromium: run files read on demand through their sync access
// handles into the block cache, open reading only run tails, a file an iterator still reads
// kept until the iterator lets go, and damage and read faults in run files met by reads.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../scripts/chromium.mjs';
import { startStaticServer, type StaticServer } from '../scripts/static-server.mjs';
import { OpfsPage } from './support/opfs-page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = chromiumOrSkip('test/browser-opfs-cache.test.ts');

describe.runIf(bin)('OPFS stores larger than memory, in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let op: OpfsPage;

  beforeAll(async () => {
    server = await startStaticServer({ '/': root });
    browser = await launchChromium(bin);
    op = await OpfsPage.open(browser, `${server.url}test/browser/index.html`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  // Shared by the workers of these tests: the keys and values of a store of `n` entries.
  const defineData = (_strata: unknown, state: any) => {
    state.key = (i: number) => `k${String(i).padStart(6, '0')}`;
    state.value = (i: number) => `${i}:${'v'.repeat(150 + (i % 100))}`;
    state.fill = async (s: any, n: number, tag = '') => {
      for (let i = 0; i < n; i++) {
        s.put(state.key(i), tag + state.value(i));
        if (i % 5000 === 4999) await new Promise((r) => setTimeout(r, 0)); // tasks, as an app writes
      }
    };
    state.runs = async (path: string) => (await state.files(path)).filter((f: string) => f.endsWith('.run'));
    return null;
  };

  it('a fill of 30,000 puts in tasks, its flush and close settle (a File System call on a handle held only as its receiver did not)', async () => {
    // The workload that hung in its flush in 7 runs of 8 before every File System call kept
    // its handle referenced until it settled (storage/opfs-files.ts, held).
    await op.startWorker('settle');
    await op.call('settle', defineData);
    const r = await op.call('settle', async (strata, state) => {
      const { codecs } = strata;
      const settles = (what: string, p: Promise<any>): Promise<any> => Promise.race([p,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle in 20 s`)), 20_000))]);
      const options = { path: 'settle', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 256 << 10 };
      const s = await settles('open', state.open(options));
      await state.fill(s, 30_000);
      await settles('flush', s.flush());
      await settles('close', s.close());
      const again = await settles('reopen', state.open(options));
      const n = again.approximateNumEntries();
      const last = again.get(state.key(29_999));
      await settles('second close', again.close());
      return { n, last, expected: state.value(29_999) };
    });
    expect(r.last).toBe(r.expected);
    expect(r.n).toBeGreaterThan(0);
  }, 120_000);

  it('a store over 12× its block cache: open reads run tails only, every read comes through the cache, memory stays a fraction of the data', async () => {
    const N = 60_000;
    await op.startWorker('fill');
    await op.call('fill', defineData);
    await op.call('fill', async (strata, state, n) => {
      const { codecs } = strata;
      const s = await state.open({ path: 'big', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 256 << 10 });
      await state.fill(s, n);
      await s.close();
      return null;
    }, N);
    // A fresh worker is a fresh Wasm instance: its memory holds only what this open reads.
    await op.startWorker('read');
    await op.call('read', defineData);
    const r = await op.call('read', async (strata, state, n) => {
      const { codecs } = strata;
      const s = await state.open({ path: 'big', keyCodec: codecs.utf8, valueCodec: codecs.utf8, blockCacheBytes: 1 << 20 });
      const opened = s.stats();
      let scanned = 0, bad = '';
      for (const [k, v] of s.all()) {
        if (k !== state.key(scanned) || v !== state.value(scanned)) bad ||= `scan at ${scanned}: ${k}`;
        scanned++;
      }
      for (let j = 0; j < 5000; j++) {
        const i = (j * 7919) % n;
        if (s.get(state.key(i)) !== state.value(i)) bad ||= `get ${state.key(i)}`;
      }
      const st = s.stats();
      await s.close();
      return {
        scanned, bad, runBytes: opened.runBytes, fileBackedRuns: opened.fileBackedRuns,
        memoryAtOpen: opened.memoryBytes, memoryAtEnd: st.memoryBytes, cache: st.blockCache,
      };
    }, N);
    expect(r.bad).toBe('');
    expect(r.scanned).toBe(N);
    expect(r.runBytes).toBeGreaterThan(12 << 20);
    expect(r.fileBackedRuns).toBeGreaterThan(0);
    // Whole-file imports would need the data itself in linear memory.
    expect(r.memoryAtOpen).toBeLessThan(r.runBytes / 2);
    expect(r.memoryAtEnd).toBeLessThan(r.runBytes / 2);
    expect(r.cache.capacity).toBe(1 << 20);
    // Between calls the cache holds at most its capacity plus what the last call read (its
    // eviction runs at safe points, as on Node: test/block-cache.test.ts).
    expect(r.cache.bytes).toBeLessThan(r.cache.capacity + (64 << 10));
    expect(r.cache.misses).toBeGreaterThan(1000);
  }, 120_000);

  it('a run file an iterator still reads outlives the compaction that replaced it, and goes once the iterator closes', async () => {
    await op.startWorker('held');
    await op.call('held', defineData);
    const r = await op.call('held', async (strata, state) => {
      const { codecs } = strata;
      const options = { path: 'held', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 64 << 10, blockCacheBytes: 64 << 10 };
      const first = await state.open(options);
      await state.fill(first, 5000, 'old');
      await first.close();
      const s = await state.open(options); // every run file-backed
      const before = await state.runs('held');
      const it = s.all();
      const head = it.next().value;
      await state.fill(s, 5000, 'new');
      await s.compact();
      await s.flush(); // the manifest no longer lists the old runs
      const during = await state.runs('held');
      let bad = '', n = 1;
      if (head[1] !== `old${state.value(0)}`) bad = `head ${head[1].slice(0, 20)}`;
      for (let e = it.next(); !e.done; e = it.next(), n++) {
        if (e.value[1] !== `old${state.value(n)}`) bad ||= `iterator at ${n}: ${e.value[1].slice(0, 20)}`;
      }
      it.close();
      await s.flush(); // the removals queued when the iterator let the runs go
      const after = await state.runs('held');
      for (let i = 0; i < 5000; i += 7) if (s.get(state.key(i)) !== `new${state.value(i)}`) bad ||= `get ${i}`;
      await s.close();
      const again = await state.open(options);
      const reopened = again.get(state.key(4999));
      await again.close();
      return { before, during, after, bad, n, reopened, expected: `new${state.value(4999)}` };
    });
    expect(r.bad).toBe('');
    expect(r.n).toBe(5000);
    expect(r.before.length).toBeGreaterThan(0);
    for (const f of r.before) expect(r.during).toContain(f);
    for (const f of r.before) expect(r.after).not.toContain(f);
    expect(r.reopened).toBe(r.expected);
  }, 60_000);

  it('a flipped byte in a data block of a file-backed run: open succeeds, a read of that block is CORRUPTION naming file and offset, the rest reads', async () => {
    await op.startWorker('damage');
    await op.call('damage', defineData);
    const r = await op.call('damage', async (strata, state) => {
      const { codecs } = strata;
      const options = { path: 'damaged', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 64 << 10 };
      const s = await state.open(options);
      await state.fill(s, 3000);
      await s.compact(); // one run: no compaction at the next open
      await s.close();
      const [run] = await state.runs('damaged');
      // A byte near the middle of the file: a data block (index, bloom and footer are its last few KiB).
      const h = await (await (await state.dir('damaged')).getFileHandle(run)).createSyncAccessHandle();
      const at = Math.floor(h.getSize() * 0.45);
      const b = new Uint8Array(1);
      h.read(b, { at });
      b[0] ^= 0x40;
      h.write(b, { at });
      h.close();
      const t = await state.open(options);
      const outcomes = new Map<string, string>();
      for (let i = 0; i < 3000; i++) {
        try { if (t.get(state.key(i)) !== state.value(i)) outcomes.set('wrong value', state.key(i)); else outcomes.set('ok', state.key(i)); } catch (err: any) {
          outcomes.set(`${err.code}`, err.message);
        }
      }
      await t.close();
      return { run, at, outcomes: Object.fromEntries(outcomes) };
    });
    // The damaged block's keys fail loudly, never with a wrong value; the others read.
    expect(r.outcomes['wrong value']).toBeUndefined();
    expect(r.outcomes.ok).toBeDefined();
    expect(r.outcomes.CORRUPTION).toMatch(new RegExp(`damaged/${r.run}.* offset \\d+`));
  }, 60_000);

  it('a failing read of a run file is IO_ERROR to the read and leaves the store intact; a compaction that meets it loses nothing', async () => {
    await op.startWorker('reads');
    await op.call('reads', defineData);
    const r = await op.call('reads', async (strata, state) => {
      const { codecs } = strata;
      const proto = (globalThis as any).FileSystemSyncAccessHandle.prototype;
      const read = proto.read;
      let failing = false;
      proto.read = function (this: unknown, ...a: unknown[]) {
        if (failing) throw new DOMException('injected read fault', 'InvalidStateError');
        return read.apply(this, a);
      };
      const outcome = (fn: () => unknown) => { try { fn(); return 'ok'; } catch (err: any) { return `${err.code}`; } };
      try {
        const options = { path: 'reads', keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 64 << 10, blockCacheBytes: 64 << 10 };
        const s = await state.open(options);
        await state.fill(s, 4000);
        await s.close();
        const t = await state.open(options);
        failing = true;
        const get = outcome(() => t.get(state.key(1234)));
        const scan = outcome(() => { for (const _ of t.all()) { /* every block */ } });
        failing = false;
        const getAfter = t.get(state.key(1234));
        await t.close();
        // Runs the compaction will read from their files: written with compaction off, reopened.
        const v = await state.open({ ...options, autoCompaction: false });
        await state.fill(v, 4000, 'again');
        await v.close();
        const w = await state.open({ ...options, autoCompaction: false });
        failing = true;
        const compact = await w.compact().then(() => 'ok', (err: any) => `${err.code}`);
        failing = false;
        let bad = '';
        for (let i = 0; i < 4000; i += 3) if (w.get(state.key(i)) !== `again${state.value(i)}`) bad ||= `get ${i}`;
        await w.close().catch(() => { /* a latched background error fails close; the files hold the writes */ });
        const u = await state.open(options);
        for (let i = 0; i < 4000; i += 3) if (u.get(state.key(i)) !== `again${state.value(i)}`) bad ||= `reopened get ${i}`;
        await u.close();
        return { get, scan, getAfter, compact, bad, expected: state.value(1234) };
      } finally {
        proto.read = read;
      }
    });
    expect(r.get).toBe('IO_ERROR');
    expect(r.scan).toBe('IO_ERROR');
    expect(r.getAfter).toBe(r.expected);
    expect(r.compact).toBe('IO_ERROR');
    expect(r.bad).toBe('');
  }, 60_000);
});
