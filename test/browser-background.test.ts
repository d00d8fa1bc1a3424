// Background compaction in browsers (bindings/background/worker-executor-browser.ts): stores
// in dedicated Workers of headless Chromium, opened with `background: true`, hand their
// compactions to a nested dedicated Worker (dist/compaction-worker-browser.js). Checked: every
// write reads back exactly (against a Map), jobs ran on the worker, a caller that never yields
// gets its jobs back through shared memory (a cross-origin isolated page), or without it has
// them merged on its own thread when a wait cannot take the worker's result, and an OPFS
// store's jobs, whose inputs are read from its files, reopen intact.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../scripts/chromium.mjs';
import { OpfsPage } from './support/opfs-page.js';
import { startStaticServer, type StaticServer } from '../scripts/static-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = chromiumOrSkip('test/browser-background.test.ts');

describe.runIf(bin)('background compaction in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let op: OpfsPage;
  /** A page that is not cross-origin isolated: no SharedArrayBuffer, results by message only. */
  let plainServer: StaticServer;
  let plain: OpfsPage;
  // A workload of puts, overwrites and deletes from a seeded generator, checked against a
  // Map after it: `yieldEvery` calls, a turn of the event loop (0: never).
  const helpers = (strata: any, state: any) => {
    state.utf8 = { keyCodec: strata.codecs.utf8, valueCodec: strata.codecs.utf8 };
    state.fill = async (store: any, n: number, yieldEvery: number, seed: number) => {
      const model = new Map<string, string>();
      let x = seed >>> 0;
      const next = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x; };
      for (let i = 0; i < n; i++) {
        const k = `k${String(next() % (n >> 1)).padStart(8, '0')}`;
        if (next() % 10 === 0) { store.delete(k); model.delete(k); } else {
          const v = `${k}:${i}:${'v'.repeat(next() % 200)}`;
          store.put(k, v);
          model.set(k, v);
        }
        if (yieldEvery > 0 && i % yieldEvery === yieldEvery - 1) await new Promise((r) => setTimeout(r, 0));
      }
      return model;
    };
    state.check = (store: any, model: Map<string, string>) => {
      const got = [...store.all()];
      const want = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      if (got.length !== want.length) return `${got.length} entries, ${want.length} expected`;
      for (let i = 0; i < want.length; i++) {
        if (got[i][0] !== want[i][0] || got[i][1] !== want[i][1]) return `entry ${i}: ${got[i]} for ${want[i]}`;
        if (store.get(want[i][0]) !== want[i][1]) return `get ${want[i][0]}`;
      }
      return 'ok';
    };
    return null;
  };

  beforeAll(async () => {
    server = await startStaticServer({ '/': root });
    plainServer = await startStaticServer({ '/': root }, 0, { isolated: false });
    browser = await launchChromium(bin);
    op = await OpfsPage.open(browser, `${server.url}test/browser/index.html`);
    plain = await OpfsPage.open(browser, `${plainServer.url}test/browser/index.html`);
    for (const page of [op, plain]) {
      await page.startWorker('bg');
      await page.call('bg', helpers);
    }
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await plainServer?.close();
  });

  it('an in-memory store whose caller yields: jobs merged on the worker, every write read back', async () => {
    const r = await op.call('bg', async (strata, state) => {
      const store = await strata.Store.open({ ...state.utf8, memtableBytes: 64 << 10, background: true });
      const model = await state.fill(store, 60_000, 200, 1);
      const during = store.stats().background;
      const check = state.check(store, model);
      await store.close();
      return { check, jobs: during.jobs, mergedHere: during.mergedHere, lost: during.lost ?? null, failed: during.failed };
    });
    expect(r.check).toBe('ok');
    expect(r.lost).toBe(null);
    expect(r.failed).toBe(0);
    expect(r.jobs).toBeGreaterThan(5);
    expect(r.mergedHere).toBeLessThan(r.jobs);
  }, 120_000);

  const tightLoop = async (page: OpfsPage) => page.call('bg', async (strata, state) => {
    const store = await strata.Store.open({ ...state.utf8, memtableBytes: 64 << 10, background: true });
    const model = await state.fill(store, 60_000, 0, 2);
    const during = store.stats().background;
    const check = state.check(store, model);
    await store.close();
    return { check, jobs: during.jobs, mergedHere: during.mergedHere, lost: during.lost ?? null, isolated: self.crossOriginIsolated, stalls: during.stalls, stallMs: during.stallMs, failed: during.failed };
  });

  it('a caller that never yields, cross-origin isolated: each job comes back in shared memory, a wait blocks for it', async () => {
    const r = await tightLoop(op);
    expect(r.isolated).toBe(true);
    expect(r.check).toBe('ok');
    expect(r.lost).toBe(null);
    expect(r.jobs).toBeGreaterThan(5);
    expect(r.mergedHere).toBe(0);
  }, 120_000);

  it('a caller that never yields, not isolated: waits merge the job on the store thread, nothing is lost', async () => {
    const r = await tightLoop(plain);
    expect(r.isolated).toBe(false);
    expect(r.check).toBe('ok');
    expect(r.lost).toBe(null);
    expect(r.mergedHere).toBeGreaterThan(0);
  }, 120_000);

  it('an OPFS store: inputs read from its files travel as images; a reopen without a worker reads every write', async () => {
    const r = await op.call('bg', async (strata, state) => {
      const store = await strata.Store.open({ ...state.utf8, path: 'bg-opfs', memtableBytes: 64 << 10, background: true });
      const model = await state.fill(store, 40_000, 100, 3);
      await store.flush();
      const during = store.stats().background;
      const fileBacked = store.stats().fileBackedRuns;
      const before = state.check(store, model);
      await store.close();
      const again = await strata.Store.open({ ...state.utf8, path: 'bg-opfs', background: false });
      const after = state.check(again, model);
      await again.close();
      return { before, after, jobs: during.jobs, lost: during.lost ?? null, failed: during.failed, fileBacked };
    });
    expect(r.before).toBe('ok');
    expect(r.after).toBe('ok');
    expect(r.lost).toBe(null);
    expect(r.failed).toBe(0);
    expect(r.jobs).toBeGreaterThan(0);
    expect(r.fileBacked).toBeGreaterThan(0);
  }, 120_000);

  it('an OPFS store whose input file cannot be read for a job: a background error, and a reopen has every acknowledged write', async () => {
    const r = await op.call('bg', async (strata, state) => {
      const proto = (self as any).FileSystemSyncAccessHandle.prototype;
      const read = proto.read;
      const store = await strata.Store.open({ ...state.utf8, path: 'bg-opfs-fail', memtableBytes: 64 << 10, background: true });
      const model = new Map<string, string>();
      let refused = '';
      let error: any;
      try {
        for (let i = 0; i < 40_000 && !refused; i++) {
          // Once run files exist, every read of one fails: the next job's input cannot be read.
          if (i === 10_000) proto.read = () => { throw new DOMException('read failed (test)', 'InvalidStateError'); };
          const k = `k${String((i * 7919) % 20_000).padStart(6, '0')}`;
          try {
            store.put(k, `v${i}`);
            model.set(k, `v${i}`);
          } catch (err: any) { refused = err.code; }
          error ??= store.stats().backgroundError;
          if (i % 100 === 99) await new Promise((res) => setTimeout(res, 0));
        }
      } finally {
        proto.read = read;
      }
      const fallbacks = store.stats().background?.lost ?? null;
      await store.close().catch(() => {});
      const again = await strata.Store.open({ ...state.utf8, path: 'bg-opfs-fail', background: false });
      let missing = 0;
      for (const [k, v] of model) if (again.get(k) !== v) missing++;
      await again.close();
      return { refused, error: error?.code ?? null, message: error?.message ?? '', missing, acknowledged: model.size, lost: fallbacks };
    });
    expect(r.error).toBe('IO_ERROR');
    expect(r.message).toMatch(/\d{6}\.run/);
    expect(r.refused).toBe('IO_ERROR');
    expect(r.acknowledged).toBeGreaterThan(5_000);
    expect(r.missing).toBe(0);
  }, 120_000);
});
