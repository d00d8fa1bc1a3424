// npm run bench:opfs-open — a store larger than memory in OPFS, in headless Chromium: fills
// `--mib` MiB of values (1,000-byte values under 16-byte keys, putAll batches of 1,000) into
// an OPFS directory from a dedicated Worker, closes it, then in a fresh Worker (a fresh Wasm
// instance) times Store.open, the first get and random gets with the default block cache,
// and reports the Wasm memory after each. Uses the built dist/browser.js (`npm run build`).
// The browser runs with a user-data directory of its own (a persistent context): a fresh
// context of browser.newPage() is incognito, whose OPFS lives in memory under a small quota.
//
//   node bench/browser/opfs-open.mjs [--mib 1024] [--gets 20000] [--opens 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { parseArgs } from '../lib/args.mjs';
import { ensureChromium, CHROMIUM_FLAGS } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const opts = parseArgs(process.argv.slice(2), {
  mib: { type: 'int', default: 1024, min: 1 },
  gets: { type: 'int', default: 20_000, min: 1 },
  opens: { type: 'int', default: 3, min: 1 },
}, { usage: 'node bench/browser/opfs-open.mjs [--mib M] [--gets N] [--opens K]' });

const VALUE_BYTES = 1000;

/** Runs `fn` (its source) in a fresh dedicated Worker of the page (test/browser/opfs-worker.mjs). */
function inWorker(page, fn, arg) {
  return page.evaluate(([src, a]) => new Promise((resolve, reject) => {
    const w = new Worker('/test/browser/opfs-worker.mjs', { type: 'module' });
    w.onerror = (e) => reject(new Error(e.message || 'worker failed'));
    w.onmessage = ({ data }) => {
      if (data.ready) { w.postMessage({ id: 1, src, arg: a }); return; }
      if (data.progress !== undefined) return;
      w.terminate();
      if (data.error) reject(new Error(`${data.error.code ?? ''} ${data.error.message}`));
      else resolve(data.value);
    };
  }), [fn.toString(), arg]);
}

async function fill(strata, _state, { entries, valueBytes }) {
  const { Store, codecs } = strata;
  const s = await Store.open({ path: 'bench-open', keyCodec: codecs.utf8 });
  const value = new Uint8Array(valueBytes);
  const t0 = performance.now();
  for (let i = 0; i < entries; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(entries, i + 1000); j++) {
      value[0] = j & 0xff; value[1] = (j >>> 8) & 0xff;
      batch.push([`k${String(j).padStart(15, '0')}`, value.slice()]);
    }
    s.putAll(batch);
    if (i % 50_000 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  await s.flush();
  const st = s.stats();
  await s.close();
  return { seconds: (performance.now() - t0) / 1000, runBytes: st.runBytes, runs: st.runs };
}

async function reopen(strata, _state, { entries, gets }) {
  const { Store, codecs } = strata;
  const t0 = performance.now();
  const s = await Store.open({ path: 'bench-open', keyCodec: codecs.utf8 });
  const openMs = performance.now() - t0;
  const atOpen = s.stats();
  const t1 = performance.now();
  const first = s.get(`k${String(entries >> 1).padStart(15, '0')}`);
  const firstGetMs = performance.now() - t1;
  let x = 12345, bad = 0;
  const t2 = performance.now();
  for (let i = 0; i < gets; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % entries;
    const v = s.get(`k${String(j).padStart(15, '0')}`);
    if (!v || v[0] !== (j & 0xff) || v[1] !== ((j >>> 8) & 0xff)) bad++;
  }
  const getSeconds = (performance.now() - t2) / 1000;
  const st = s.stats();
  await s.close();
  return {
    openMs, firstGetMs, firstOk: first?.length === 1000, bad, getsPerSecond: gets / getSeconds,
    runs: atOpen.runs, runBytes: atOpen.runBytes, memoryAtOpen: atOpen.memoryBytes, memoryAfterGets: st.memoryBytes,
    cache: st.blockCache,
  };
}

const { bin, reason } = ensureChromium();
if (!bin) { console.error(`Chromium unavailable: ${reason}`); process.exit(1); }
const server = await startStaticServer({ '/': root });
const profile = mkdtempSync(join(tmpdir(), 'strata-opfs-bench-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: bin, headless: true, args: CHROMIUM_FLAGS });
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}test/browser/index.html`);
  await page.waitForFunction(() => window.ready === true || undefined, undefined, { timeout: 30_000 });
  const entries = Math.round((opts.mib * 2 ** 20) / VALUE_BYTES);
  console.log(`filling ${entries.toLocaleString('en-US')} entries of ${VALUE_BYTES}-byte values (${opts.mib} MiB of values) into OPFS…`);
  const f = await inWorker(page, fill, { entries, valueBytes: VALUE_BYTES });
  const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`filled in ${f.seconds.toFixed(1)} s (${mib(entries * VALUE_BYTES / f.seconds)}/s of values): ${f.runs} runs, ${mib(f.runBytes)} of run files`);
  for (let k = 0; k < opts.opens; k++) {
    const r = await inWorker(page, reopen, { entries, gets: opts.gets });
    if (!r.firstOk || r.bad > 0) throw new Error(`wrong answers after reopen: ${JSON.stringify(r)}`);
    console.log(`open ${k + 1}: Store.open ${r.openMs.toFixed(0)} ms (${r.runs} runs, ${mib(r.runBytes)}), first get ${r.firstGetMs.toFixed(2)} ms, `
      + `${Math.round(r.getsPerSecond).toLocaleString('en-US')} random gets/s; Wasm memory ${mib(r.memoryAtOpen)} at open, `
      + `${mib(r.memoryAfterGets)} after ${opts.gets.toLocaleString('en-US')} gets (cache ${mib(r.cache.bytes)} of ${mib(r.cache.capacity)})`);
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
