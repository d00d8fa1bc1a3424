// SharedStore (bindings/shared/, docs/API.md "Several tabs") in real headless Chromium
// (scripts/chromium.mjs): several pages of ONE browser context, which share the Origin
// Private File System, Web Locks and BroadcastChannels as the tabs of one app do. Every page
// runs the built dist/browser.js; an elected page starts dist/shared-worker.js.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../scripts/chromium.mjs';
import { startStaticServer, type StaticServer } from '../scripts/static-server.mjs';
import { checkAgainstAcks, within, type Ack } from './support/shared-store-acks.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = chromiumOrSkip('test/browser-shared.test.ts');


describe.runIf(bin)('SharedStore: one OPFS store for several tabs, in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let context: BrowserContext;
  let n = 0;

  beforeAll(async () => {
    server = await startStaticServer({ '/': root });
    browser = await launchChromium(bin);
    context = await browser.newContext();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A tab of the shared context with the test page loaded, its errors kept, and acks reported to `acks`. */
  async function tab(acks?: Ack[]): Promise<Page & { errors: string[] }> {
    const page = await context.newPage() as Page & { errors: string[] };
    page.errors = [];
    page.on('pageerror', (err) => page.errors.push(String(err)));
    await page.exposeFunction('reportAck', (a: Ack) => { acks?.push(a); });
    await page.goto(`${server.url}test/browser/index.html`);
    await page.waitForFunction(() => (window as any).ready === true || undefined, undefined, { timeout: 30_000 });
    return page;
  }

  /** Opens the SharedStore at `path` in `page` (utf8 keys, utf8 values) as `window.ss`. */
  async function open(page: Page, path: string): Promise<void> {
    await page.evaluate(async (p) => {
      const w = window as any;
      w.ss = await w.strata.SharedStore.open({ path: p, keyCodec: w.strata.codecs.utf8, valueCodec: w.strata.codecs.utf8 });
    }, path);
  }

  /** Every entry of the store, read through `page`'s SharedStore (several range batches). */
  async function entries(page: Page): Promise<[string, string][]> {
    return page.evaluate(async () => {
      const out: [string, string][] = [];
      for await (const e of (window as any).ss.range()) out.push(e);
      return out;
    });
  }

  /**
   * Starts `count` writes from `page` (tab `name`), `inflight` at a time, on its own keys:
   * `${name}/k000`..`k149` put (overwritten once the index goes round), every 13th a delete of
   * one, every 10th a putAll of two keys. Each acknowledged write is reported (reportAck)
   * after it resolved. Resolves in the page to the errors the writes rejected with.
   */
  function writes(page: Page, name: string, count: number, inflight = 8): Promise<string[]> {
    return page.evaluate(async ([tabName, total, par]) => {
      const w = window as any;
      const s = w.ss;
      const errors: string[] = [];
      let next = 0;
      const key = (i: number) => `${tabName}/k${String(i % 150).padStart(3, '0')}`;
      const one = async () => {
        while (next < total) {
          const i = next++;
          try {
            if (i % 13 === 5) {
              await s.delete(key(i));
              await w.reportAck({ tab: tabName, key: key(i), i, del: true });
            } else if (i % 10 === 7) {
              await s.putAll([[key(i), `${tabName}:${i}`], [`${tabName}/b${String(i).padStart(5, '0')}`, `${tabName}:${i}`]]);
              await w.reportAck({ tab: tabName, key: key(i), i, del: false });
              await w.reportAck({ tab: tabName, key: `${tabName}/b${String(i).padStart(5, '0')}`, i, del: false });
            } else {
              await s.put(key(i), `${tabName}:${i}`);
              await w.reportAck({ tab: tabName, key: key(i), i, del: false });
            }
          } catch (err: any) {
            errors.push(`${i}: ${err?.code} ${err?.message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: par }, one));
      return errors;
    }, [name, count, inflight] as const);
  }

  it('reads, writes, batches, ranges in batches across tabs; owner errors arrive typed; close', async () => {
    const path = `shared/${n++}`;
    const a = await tab(), b = await tab();
    await open(a, path);
    await open(b, path);
    expect(await a.evaluate(() => (window as any).ss.isOwner)).toBe(true);
    expect(await b.evaluate(() => (window as any).ss.isOwner)).toBe(false);
    await a.evaluate(async () => {
      const s = (window as any).ss;
      const entries: [string, string][] = [];
      for (let i = 0; i < 700; i++) entries.push([`k${String(i).padStart(4, '0')}`, `v${i}`]);
      await s.putAll(entries);
      await s.write([{ type: 'del', key: 'k0003' }, { type: 'put', key: 'k0004', value: 'four' }]);
      await s.delete('k0005');
    });
    const r = await b.evaluate(async () => {
      const { StrataError } = (window as any).strata;
      const s = (window as any).ss;
      const collect = async (bounds?: unknown) => { const out: string[] = []; for await (const [k, v] of s.range(bounds)) out.push(`${k}=${v}`); return out; };
      const err = async (f: () => Promise<unknown>) => f().then(() => 'no error', (e: any) => `${e instanceof StrataError} ${e.code}: ${e.message}`);
      const v1 = await s.getVersioned('k0001');
      const out = {
        get: [await s.get('k0000'), await s.get('k0003'), await s.get('k0004'), await s.get('nope')],
        getAll: await s.getAll(['k0699', 'k0005', 'k0010']),
        versioned: [v1.value, typeof v1.version, (await s.getVersioned('k0004')).version > v1.version, await s.getVersioned('k0003')],
        all: await collect(),
        window: await collect({ gte: 'k0250', lt: 'k0520' }),
        back: await collect({ gt: 'k0100', lte: 'k0400', reverse: true, limit: 290 }),
        tail: await collect({ reverse: true, limit: 3 }),
        none: await collect({ gte: 'k9' }),
        badBounds: (() => { try { s.range({ from: 'a' }); return 'no error'; } catch (e: any) { return `${e.code}`; } })(),
        badKey: await err(() => s.put(42, 'x')),
        longKey: await err(() => s.put('x'.repeat(65535), 'x')), // MAX_KEY_BYTES: a Store takes it
        bigValue: await err(() => s.put('big', 'x'.repeat(70 << 20))),
        badOp: await err(() => s.write([{ type: 'merge', key: 'a', value: 'b' }])),
        badOptions: [
          await err(() => (window as any).strata.SharedStore.open({ path: 'x', ttlMs: 1000 })),
          await err(() => (window as any).strata.SharedStore.open({ path: 'x', memtableBytes: -1 })),
          await err(() => (window as any).strata.SharedStore.open({})),
        ].map((e) => e.split(':')[0]),
      };
      await s.put('after', 'errors');
      await s.flush();
      return { ...out, after: await s.get('after') };
    });
    expect(r.get).toEqual(['v0', undefined, 'four', undefined]);
    expect(r.getAll).toEqual(['v699', undefined, 'v10']);
    expect(r.versioned).toEqual(['v1', 'number', true, undefined]);
    const model = new Map<string, string>();
    for (let i = 0; i < 700; i++) model.set(`k${String(i).padStart(4, '0')}`, `v${i}`);
    model.delete('k0003'); model.set('k0004', 'four'); model.delete('k0005');
    const all = [...model].map(([k, v]) => `${k}=${v}`);
    expect(r.all).toEqual(all);
    expect(r.window).toEqual(all.filter((e) => e >= 'k0250' && e < 'k0520'));
    expect(r.back).toEqual(all.filter((e) => e > 'k0101' && e < 'k0401').reverse().slice(0, 290));
    expect(r.tail).toEqual(all.slice(-3).reverse());
    expect(r.none).toEqual([]);
    expect(r.badBounds).toBe('INVALID_ARGUMENT');
    expect(r.badKey).toMatch(/^true INVALID_ARGUMENT: /);
    expect(r.longKey).toBe('true KEY_TOO_LARGE: key of 65535 bytes exceeds 65534 (a SharedStore key\'s limit)');
    // Checked by the owner's Store, not here: the error crossed the channel with its code.
    expect(r.bigValue).toMatch(/^true VALUE_TOO_LARGE: value of 73400320 bytes exceeds \d+$/);
    expect(r.badOp).toMatch(/^true INVALID_ARGUMENT: a SharedStore write op is/);
    expect(r.after).toBe('errors');
    expect(r.badOptions).toEqual(['true INVALID_ARGUMENT', 'true INVALID_ARGUMENT', 'true INVALID_ARGUMENT']);

    // Throughput through the channel (printed, not asserted): 2,000 puts then 2,000 gets from
    // the owner's page and from the other, 64 in flight.
    for (const [name, p] of [['owner tab', a], ['other tab', b]] as const) {
      const ms = await p.evaluate(async () => {
        const s = (window as any).ss;
        const time = async (f: (i: number) => Promise<unknown>) => {
          const t = performance.now();
          let next = 0;
          await Promise.all(Array.from({ length: 64 }, async () => { while (next < 2000) { const i = next++; await f(i); } }));
          return Math.round(performance.now() - t);
        };
        return [await time((i) => s.put(`t${i}`, 'x'.repeat(100))), await time((i) => s.get(`t${i}`))];
      });
      console.log(`${name}: 2000 puts ${ms[0]} ms, 2000 gets ${ms[1]} ms (64 in flight)`);
    }

    // Closing the owner hands the store to b, which reads what a wrote.
    await a.evaluate(() => (window as any).ss.close());
    expect(await a.evaluate(() => (window as any).ss.get('k0000').then(() => 'no error', (e: any) => e.code))).toBe('CLOSED');
    expect(await b.evaluate(() => (window as any).ss.get('k0004'))).toBe('four');
    expect(await b.evaluate(() => (window as any).ss.isOwner)).toBe(true);
    await b.evaluate(() => (window as any).ss.close());
    expect([...a.errors, ...b.errors]).toEqual([]);
    await a.close(); await b.close();
  });

  it('a write sent again (its answer lost) is answered without applying it twice; a refused one gets its error again; an earlier owner\'s late announcement is ignored', async () => {
    const path = `shared/${n++}`;
    const a = await tab();
    await open(a, path);
    const r = await a.evaluate(async (p) => {
      // A raw client on the channel, as a tab whose owner died before answering: the same
      // request id sent twice, another client's write to the same key in between.
      const ch = new BroadcastChannel(`strata-kv:${p}`);
      const replies = new Map<number, any>();
      let owner = '';
      ch.onmessage = (e) => {
        if (e.data.t === 'owner') owner = e.data.owner;
        if (e.data.t === 'res') for (const r of e.data.replies) if (r.client === 'raw') replies.set(r.id, r);
      };
      ch.postMessage({ t: 'who' });
      while (owner === '') await new Promise((r) => setTimeout(r, 5));
      const ask = async (id: number, ops: unknown[]) => {
        replies.delete(id);
        ch.postMessage({ t: 'req', to: owner, client: 'raw', id, op: 'write', ops });
        while (!replies.has(id)) await new Promise((r) => setTimeout(r, 5));
        return replies.get(id);
      };
      const enc = new TextEncoder();
      const s = (window as any).ss;
      const first = await ask(5, [[0, enc.encode('k'), enc.encode('raw')]]);
      await s.put('k', 'later');
      const again = await ask(5, [[0, enc.encode('k'), enc.encode('raw')]]);
      const afterAgain = await s.get('k');
      const refused = await ask(6, [[0, enc.encode('k2'), new Uint8Array(70 << 20)]]);
      const refusedAgain = await ask(6, [[0, enc.encode('k2'), enc.encode('small')]]);
      const next = await ask(7, [[0, enc.encode('k3'), enc.encode('seven')]]);
      const [k2, k3] = [await s.get('k2'), await s.get('k3')];
      // A late announcement of an earlier owner (messages of different contexts may arrive
      // out of order): the client stays with the current owner.
      ch.postMessage({ t: 'owner', owner: 'dead', epoch: 0 });
      await new Promise((r) => setTimeout(r, 50));
      const stays = await Promise.race([s.put('k4', 'four').then(() => 'answered'), new Promise((r) => setTimeout(() => r('no answer in 3 s'), 3000))]);
      ch.close();
      return { first, again, afterAgain, refused: refused.error?.code, refusedAgain: refusedAgain.error?.code, k2, next, k3, stays };
    }, path);
    expect(r.stays).toBe('answered');
    expect(r.first).toEqual({ client: 'raw', id: 5, value: null });
    expect(r.again).toEqual({ client: 'raw', id: 5, value: null });
    expect(r.afterAgain).toBe('later'); // not overwritten by the repeated request
    expect(r.refused).toBe('VALUE_TOO_LARGE');
    expect(r.refusedAgain).toBe('VALUE_TOO_LARGE'); // the answer it had, not a second try
    expect(r.k2).toBeUndefined();
    expect(r.next).toEqual({ client: 'raw', id: 7, value: null });
    expect(r.k3).toBe('seven');
    // The markers are not user keys: a scan sees only what was written through the API.
    expect(await entries(a)).toEqual([['k', 'later'], ['k3', 'seven'], ['k4', 'four']]);
    await a.evaluate(() => (window as any).ss.close());
    await a.close();
  });

  it('from a dedicated Worker the owner runs in place; a page takes over when it ends; a plain Store on the directory is waited for', async () => {
    const path = `shared/${n++}`;
    const p = await tab(), q = await tab();
    // A module worker of the test page running the functions it is sent (opfs-worker.mjs).
    await p.evaluate(() => {
      const w = window as any;
      w.spawn = async (name: string) => {
        const worker = new Worker('/test/browser/opfs-worker.mjs', { type: 'module' });
        await new Promise<void>((r) => { worker.onmessage = (e) => { if (e.data.ready) r(); }; });
        let next = 0;
        w[name] = {
          worker,
          call: (src: string, arg?: unknown) => new Promise((done, fail) => {
            const id = ++next;
            const h = (e: MessageEvent) => {
              if (e.data.id !== id) return;
              worker.removeEventListener('message', h);
              if (e.data.error) fail(new Error(`${e.data.error.code}: ${e.data.error.message}`)); else done(e.data.value);
            };
            worker.addEventListener('message', h);
            worker.postMessage({ id, src, arg });
          }),
        };
      };
    });
    const call = (name: string, fn: (strata: any, state: any, arg: any) => unknown, arg?: unknown) =>
      p.evaluate(([nm, src, a]) => (window as any)[nm].call(src, a), [name, fn.toString(), arg] as const);

    // A plain Store holds the directory: the elected page's owner retries LOCKED until it closes.
    await p.evaluate(() => (window as any).spawn('plain'));
    await call('plain', async (strata, state, at) => { state.s = await strata.Store.open({ path: at }); }, path);
    const opening = p.evaluate(async (at) => {
      const w = window as any;
      const t = Date.now();
      w.ss = await w.strata.SharedStore.open({ path: at, keyCodec: w.strata.codecs.utf8, valueCodec: w.strata.codecs.utf8 });
      return Date.now() - t;
    }, path);
    await new Promise((r) => setTimeout(r, 1000));
    await call('plain', (_strata, state) => state.s.close());
    expect(await opening).toBeGreaterThanOrEqual(900);
    await p.evaluate(() => (window as any).ss.close());

    // In a dedicated Worker: elected, it runs the Store itself (no worker of its own).
    await p.evaluate(() => (window as any).spawn('w2'));
    expect(await call('w2', async (strata, state, at) => {
      state.ss = await strata.SharedStore.open({ path: at, keyCodec: strata.codecs.utf8, valueCodec: strata.codecs.utf8 });
      await state.ss.put('w', 'from the worker');
      return state.ss.isOwner;
    }, path)).toBe(true);
    await open(q, path);
    expect(await q.evaluate(() => (window as any).ss.get('w'))).toBe('from the worker');
    await q.evaluate(() => (window as any).ss.put('q', 'from a page'));
    expect(await call('w2', (_strata, state) => state.ss.get('q'))).toBe('from a page');
    // The worker ends (its Web Lock and handles go with it): q reopens the store and owns it.
    await q.evaluate(() => { const w = window as any; w.changes = []; w.ss.onOwnerChange((o: boolean) => w.changes.push(o)); });
    await p.evaluate(() => (window as any).w2.worker.terminate());
    await q.waitForFunction(() => (window as any).ss.isOwner || undefined, undefined, { timeout: 15_000 });
    expect(await q.evaluate(() => (window as any).changes)).toEqual([true]);
    expect(await entries(q)).toEqual([['q', 'from a page'], ['w', 'from the worker']]);
    await q.evaluate(() => (window as any).ss.close());
    expect([...p.errors, ...q.errors]).toEqual([]);
    await p.close(); await q.close();
  });

  it('a directory that cannot be opened: each elected tab\'s open rejects with the Store\'s CORRUPTION', async () => {
    const path = `shared/${n++}`;
    const p = await tab(), q = await tab();
    await open(p, path);
    await p.evaluate(async () => {
      const s = (window as any).ss;
      for (let i = 0; i < 300; i++) await s.put(`k${i}`, 'x'.repeat(200));
      await s.flush();
      await s.close();
    });
    // Both manifest slots damaged (docs/FORMAT.md, "OPFS"): the directory has runs or logged
    // writes but no valid manifest.
    await p.evaluate(async (at) => {
      let d = await (navigator.storage as any).getDirectory();
      for (const part of at.split('/')) d = await d.getDirectoryHandle(part);
      for (const name of ['MANIFEST-0', 'MANIFEST-1']) {
        const w = await (await d.getFileHandle(name, { create: true })).createWritable();
        await w.write('not a manifest at all');
        await w.close();
      }
    }, path);
    const tryOpen = (page: Page) => page.evaluate(async (at) => {
      const w = window as any;
      return w.strata.SharedStore.open({ path: at }).then(() => 'opened', (e: any) => `${e instanceof w.strata.StrataError} ${e.code}`);
    }, path);
    expect(await Promise.all([tryOpen(p), tryOpen(q)])).toEqual(['true CORRUPTION', 'true CORRUPTION']);
    expect([...p.errors, ...q.errors]).toEqual([]);
    await p.close(); await q.close();
  });

  it('three tabs writing at once: every acknowledged write is there once, with its value', async () => {
    const path = `shared/${n++}`;
    const acks: Ack[] = [];
    const pages = [await tab(acks), await tab(acks), await tab(acks)];
    for (const p of pages) await open(p, path);
    const t0 = Date.now();
    const errors = await Promise.all(pages.map((p, i) => writes(p, `t${i}`, 400)));
    console.log(`3 tabs x 400 writes (8 in flight each): ${Date.now() - t0} ms`);
    expect(errors).toEqual([[], [], []]);
    for (const p of pages) checkAgainstAcks(await entries(p), acks, ['t0', 't1', 't2']);
    for (const p of pages) await p.evaluate(() => (window as any).ss.close());
    for (const p of pages) { expect(p.errors).toEqual([]); await p.close(); }
  });

  for (const how of ['closed', 'crashed'] as const) {
    it(`the owning tab ${how} mid-write: another tab takes over, no acknowledged write lost or applied twice`, async () => {
      const path = `shared/${n++}`;
      const acks: Ack[] = [];
      const [a, b, c] = [await tab(acks), await tab(acks), await tab(acks)];
      for (const p of [a, b, c]) await open(p, path);
      expect(await a.evaluate(() => (window as any).ss.isOwner)).toBe(true);
      const running = [writes(b, 'b', 600), writes(c, 'c', 600)];
      writes(a, 'a', 100_000).catch(() => {}); // ends with its page
      while (acks.filter((x) => x.tab === 'a').length < 150 || acks.length < 400) await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      if (how === 'closed') await a.close();
      else {
        const cdp = await context.newCDPSession(a);
        const crashed = a.waitForEvent('crash');
        cdp.send('Page.crash').catch(() => {});
        await crashed;
      }
      const tookOver = Promise.race([b, c].map((p) => p.waitForFunction(() => (window as any).ss.isOwner || undefined, undefined, { polling: 5 })))
        .then(() => Date.now() - t0);
      const [eb, ec] = await within(20_000, Promise.all(running), 'every write of b and c resolves (those in flight sent again to the new owner)');
      console.log(`owner ${how}: a new owner after ${await tookOver} ms; b and c finished ${Date.now() - t0} ms later; ${acks.length} acknowledged writes`);
      // Every write b and c made resolved: the ones in flight went to the new owner.
      expect(eb).toEqual([]);
      expect(ec).toEqual([]);
      const owners = await Promise.all([b, c].map((p) => p.evaluate(() => (window as any).ss.isOwner)));
      expect(owners.filter(Boolean)).toHaveLength(1);
      const got = await entries(b);
      expect(await entries(c)).toEqual(got);
      checkAgainstAcks(got, acks, ['b', 'c']);
      for (const p of [b, c]) await p.evaluate(() => (window as any).ss.close());
      // Reopened from OPFS alone (every tab closed): the same entries.
      const d = await tab();
      await open(d, path);
      expect(await entries(d)).toEqual(got);
      await d.evaluate(() => (window as any).ss.close());
      for (const p of [b, c, d]) { expect(p.errors).toEqual([]); await p.close(); }
    });
  }

  it('random operations from 3 tabs against a Map, the owning tab closed, crashed or reloaded between some (fast-check model)', async () => {
    const pages = [await tab(), await tab(), await tab()];
    const key = fc.integer({ min: 0, max: 30 }).map((i) => `m${String(i).padStart(2, '0')}`);
    const call = fc.oneof(
      fc.record({ t: fc.constant('put' as const), k: key, v: fc.string({ maxLength: 6 }) }),
      fc.record({ t: fc.constant('del' as const), k: key }),
      fc.record({ t: fc.constant('putAll' as const), es: fc.array(fc.tuple(key, fc.string({ maxLength: 4 })), { maxLength: 4 }) }),
      fc.record({ t: fc.constant('get' as const), k: key }),
      fc.record({ t: fc.constant('getAll' as const), ks: fc.array(key, { maxLength: 4 }) }),
      fc.record({ t: fc.constant('range' as const), gte: fc.option(key, { nil: undefined }), lt: fc.option(key, { nil: undefined }), reverse: fc.boolean(), limit: fc.option(fc.nat(12), { nil: undefined }) }),
    );
    // Rarer (1 step in 21): the owning tab closes, crashes (a new tab takes its place) or
    // reloads; the next call waits for the new owner, which reopened the store from OPFS.
    const op = fc.oneof({ arbitrary: call, weight: 20 }, { arbitrary: fc.record({ t: fc.constant('endOwner' as const), how: fc.constantFrom('close', 'crash', 'reload') }), weight: 1 });
    let run = 0;
    const ended = { close: 0, crash: 0, reload: 0 };
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(2), op), { minLength: 10, maxLength: 40 }), async (steps) => {
      const path = `shared/model-${run++}`;
      for (const p of pages) await open(p, path);
      const model = new Map<string, string>();
      for (const [t, o] of steps) {
        if (o.t === 'endOwner') {
          const owner = (await Promise.all(pages.map((p) => p.evaluate(() => (window as any).ss.isOwner)))).indexOf(true);
          if (owner < 0) continue; // still electing after the last one
          const gone = pages[owner];
          ended[o.how]++;
          if (o.how === 'reload') {
            // The tab navigates (a new document): its lock and worker go with the old one.
            await gone.reload();
            await gone.waitForFunction(() => (window as any).ready === true || undefined, undefined, { timeout: 30_000 });
            await open(gone, path);
            continue;
          }
          if (o.how === 'crash') {
            const crashed = gone.waitForEvent('crash');
            (await context.newCDPSession(gone)).send('Page.crash').catch(() => {});
            await crashed;
          }
          await gone.close();
          pages[owner] = await tab();
          await open(pages[owner], path);
          continue;
        }
        const got = await pages[t].evaluate(async (x: any) => {
          const s = (window as any).ss;
          switch (x.t) {
            case 'put': return s.put(x.k, x.v).then(() => null);
            case 'del': return s.delete(x.k).then(() => null);
            case 'putAll': return s.putAll(x.es).then(() => null);
            case 'get': return (await s.get(x.k)) ?? '<none>';
            case 'getAll': return (await s.getAll(x.ks)).map((v: any) => v ?? '<none>');
            default: {
              const out: [string, string][] = [];
              const b: any = { reverse: x.reverse };
              if (x.gte !== undefined) b.gte = x.gte;
              if (x.lt !== undefined) b.lt = x.lt;
              if (x.limit !== undefined) b.limit = x.limit;
              for await (const e of s.range(b)) out.push(e);
              return out;
            }
          }
        }, o);
        let want: unknown = null;
        if (o.t === 'put') model.set(o.k, o.v);
        else if (o.t === 'del') model.delete(o.k);
        else if (o.t === 'putAll') for (const [k, v] of o.es) model.set(k, v);
        else if (o.t === 'get') want = model.get(o.k) ?? '<none>';
        else if (o.t === 'getAll') want = o.ks.map((k) => model.get(k) ?? '<none>');
        else {
          let es = [...model].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
            .filter(([k]) => (o.gte === undefined || k >= o.gte) && (o.lt === undefined || k < o.lt));
          if (o.reverse) es = es.reverse();
          want = es.slice(0, o.limit ?? Infinity);
        }
        expect(got).toEqual(want);
      }
      for (const p of pages) await p.evaluate(() => (window as any).ss.close());
    }), { numRuns: 6, seed: 19, endOnFailure: true });
    console.log(`model: ${run} runs, owning tabs ended: ${JSON.stringify(ended)}`);
    expect(Object.values(ended).every((k) => k > 0), 'the seed\'s runs end owners each way').toBe(true);
    for (const p of pages) { expect(p.errors).toEqual([]); await p.close(); }
  });
});
