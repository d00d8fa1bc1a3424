// A page of headless Chromium whose dedicated Workers run test functions against the built
// dist/browser.js (test/browser/opfs-worker.mjs), for the OPFS tests: sync access handles
// exist only in dedicated Workers. The page's Origin Private File System lives in the browser
// context's profile, so it survives reload().
import type { Browser } from 'playwright-core';
import { openPage, type TestPage } from '../../scripts/chromium.mjs';

/** What a worker call returns: its value, or the error it threw. */
type Reply = { value?: any; error?: { name?: string; code?: string; message: string } };
/** A function run in a worker: `strata` is dist/browser.js, `state` lives as long as the worker. */
export type WorkerFn = (strata: any, state: any, arg: any) => unknown;

export class OpfsPage {
  private constructor(readonly page: TestPage) {}

  /** Opens the test page at `url` (test/browser/index.html on the static server). */
  static async open(browser: Browser, url: string): Promise<OpfsPage> {
    const p = new OpfsPage(await openPage(browser, url));
    await p.ready();
    return p;
  }

  /** Reloads the page: its workers end at once, holding whatever they held. */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.ready();
  }

  /** Starts worker `name` and gives its state the helpers the tests share: `open` (with
   *  retries while a worker a reload ended still holds its handles), `digest` (every key
   *  with a hash of its value and its version), `dir` and `files` (an OPFS directory and
   *  its file names). */
  async startWorker(name: string): Promise<void> {
    await this.page.evaluate((n) => (window as any).startWorker(n), name);
    await this.call(name, (strata, state) => {
      state.open = async (options: any) => {
        for (let i = 0; ; i++) {
          try { return await strata.Store.open(options); } catch (err: any) {
            if (err?.code !== 'LOCKED' || i >= 50) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      state.digest = (s: any) => {
        const out: unknown[] = [];
        for (const [k, v] of s.all()) {
          let h = 0;
          for (let i = 0; i < v.length; i++) h = (Math.imul(h, 31) + v.charCodeAt(i)) | 0;
          out.push([k, v.length, h, s.getVersioned(k).version]);
        }
        return out;
      };
      state.dir = async (path: string) => {
        let d = await (navigator.storage as any).getDirectory();
        for (const part of path.split('/')) d = await d.getDirectoryHandle(part);
        return d;
      };
      state.files = async (path: string) => {
        const names: string[] = [];
        for await (const n of (await state.dir(path)).keys()) names.push(n);
        return names.sort();
      };
      return null;
    });
  }

  /** Runs `fn` in worker `name`; resolves to what it returns, rejects with what it threw. */
  async call(name: string, fn: WorkerFn, arg?: unknown): Promise<any> {
    const r: Reply = await this.page.evaluate(([n, src, a]) => (window as any).callWorker(n, src, a), [name, fn.toString(), arg] as const);
    if (r.error) throw Object.assign(new Error(r.error.message), r.error);
    return r.value;
  }

  /** The error `fn` throws in worker `name`: `${code}: ${message}` (code undefined for a plain Error). */
  async failure(name: string, fn: WorkerFn, arg?: unknown): Promise<string> {
    return this.call(name, fn, arg).then(() => 'no error', (err) => `${err.code}: ${err.message}`);
  }

  /** What worker `name` last reported with postMessage({ progress }). */
  progress(name: string): Promise<any> {
    return this.page.evaluate((n) => (window as any).progress[n], name);
  }

  /** Ends worker `name` at once, whatever it is doing. */
  stopWorker(name: string): Promise<void> {
    return this.page.evaluate((n) => (window as any).stopWorker(n), name);
  }

  /** Waits for the test page and gives it `startWorker(name)`, `callWorker(name, src, arg)`
   *  and `stopWorker(name)`. */
  private async ready(): Promise<void> {
    const page = this.page;
    await page.waitForFunction(() => (window as any).ready === true || undefined, undefined, { timeout: 30_000 });
    await page.evaluate(() => {
      const w = window as any;
      w.workers = {};
      w.progress = {};
      w.startWorker = (name: string) => new Promise<void>((resolve, reject) => {
        const worker = new Worker('/test/browser/opfs-worker.mjs', { type: 'module' });
        const pending = new Map<number, (reply: unknown) => void>();
        let next = 0;
        worker.onerror = (e) => reject(new Error(e.message || 'worker failed to load'));
        worker.onmessage = (e) => {
          if (e.data.progress !== undefined) { w.progress[name] = e.data.progress; return; }
          if (e.data.ready) {
            w.workers[name] = {
              worker,
              call: (src: string, arg: unknown) => new Promise((done) => {
                const id = ++next;
                pending.set(id, done);
                worker.postMessage({ id, src, arg });
              }),
            };
            resolve();
            return;
          }
          pending.get(e.data.id)?.(e.data);
          pending.delete(e.data.id);
        };
      });
      w.callWorker = (name: string, src: string, arg: unknown) => w.workers[name].call(src, arg);
      w.stopWorker = (name: string) => { w.workers[name]?.worker.terminate(); delete w.workers[name]; };
    });
  }
}
