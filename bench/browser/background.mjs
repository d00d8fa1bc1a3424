// Background compaction in a browser, on against off (docs/LSM.md, "Background compaction"):
// a store in a dedicated Worker of headless Chromium fills N random 16-byte hex keys with
// 100-byte values, yielding to the event loop every `--yield-every` puts (a MessageChannel
// hop, as an app taking its input from messages would), in memory and on OPFS, with
// `background: true` and `false`, rounds alternating. Prints medians: puts/s, the longest
// put, the 99.9th percentile put, and background jobs merged on the worker and here. The
// fill's time ends when close() has resolved (on OPFS: every run file written).
// Uses dist/ (run `npm run build` first).
//
//   node bench/browser/background.mjs [--entries 500000] [--rounds 3] [--yield-every 1000]
import { parseArgs } from '../lib/args.mjs';
import { root, median } from '../lib/dist.mjs';
import { ensureChromium, launchChromium, openPage } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const opts = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 500_000, min: 1000 },
  rounds: { type: 'int', default: 3, min: 1 },
  'yield-every': { type: 'int', default: 1000, min: 0 },
}, { usage: 'node bench/browser/background.mjs [--entries N] [--rounds R] [--yield-every K]' });

// The Worker's script: a blob module importing the built entry by its absolute URL, so the
// entry's own URL (import.meta.url) finds dist/compaction-worker-browser.js beside it.
const workerSource = (origin) => `
import * as strata from '${origin}/dist/browser.js';
const hop = () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
self.onmessage = async ({ data: { n, background, path, yieldEvery, seed } }) => {
  try {
    const store = await strata.Store.open({ keyCodec: strata.codecs.utf8, valueCodec: strata.codecs.utf8, background, path });
    let x = seed >>> 0;
    const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    const value = 'v'.repeat(100);
    const lat = new Float64Array(n);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const k = rnd().toString(16).padStart(8, '0') + rnd().toString(16).padStart(8, '0');
      const a = performance.now();
      store.put(k, value);
      lat[i] = performance.now() - a;
      if (yieldEvery > 0 && i % yieldEvery === yieldEvery - 1) await hop();
    }
    const bg = store.stats().background;
    await store.close(); // on OPFS every run file written: part of the fill
    const ms = performance.now() - t0;
    if (path) await (await navigator.storage.getDirectory()).removeEntry(path, { recursive: true }); // the profile's quota is small
    lat.sort();
    postMessage({ putsPerSec: n / (ms / 1000), maxMs: lat[n - 1], p999Ms: lat[Math.floor(n * 0.999)],
      jobs: bg?.jobs ?? 0, mergedHere: bg?.mergedHere ?? 0, lost: bg?.lost ?? null });
  } catch (err) { postMessage({ error: String(err?.stack ?? err) }); }
};`;

const server = await startStaticServer({ '/': root });
const { bin, reason } = ensureChromium();
if (!bin) throw new Error(`Chromium unavailable: ${reason}`);
const browser = await launchChromium(bin);
try {
  const page = await openPage(browser, `${server.url}test/browser/index.html`);
  const run = (args) => page.evaluate(async ([src, a]) => {
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const w = new Worker(url, { type: 'module' });
    try {
      return await new Promise((resolve) => { w.onmessage = (ev) => resolve(ev.data); w.onerror = (ev) => resolve({ error: ev.message }); w.postMessage(a); });
    } finally { w.terminate(); }
  }, [workerSource(server.url.replace(/\/$/, '')), args]);

  const modes = [];
  for (const where of ['memory', 'opfs']) for (const background of [false, true]) modes.push({ where, background });
  const results = new Map(modes.map((m) => [`${m.where} ${m.background}`, []]));
  for (let round = 0; round < opts.rounds; round++) {
    for (const m of modes) {
      const path = m.where === 'opfs' ? `bench-bg-${round}-${m.background}` : undefined;
      const r = await run({ n: opts.entries, background: m.background, path, yieldEvery: opts['yield-every'], seed: 12345 + round });
      if (r.error) throw new Error(`${m.where} background=${m.background}: ${r.error}`);
      results.get(`${m.where} ${m.background}`).push(r);
      console.error(`round ${round + 1} ${m.where} background=${m.background}: ${JSON.stringify(r)}`);
    }
  }
  console.log(`\n${opts.entries} puts, a yield every ${opts['yield-every']}, medians of ${opts.rounds}\n`);
  console.log('| store | background | puts/s | longest put | p99.9 put | jobs (merged here) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const m of modes) {
    const rs = results.get(`${m.where} ${m.background}`);
    const med = (f) => median(rs.map(f));
    console.log(`| ${m.where} | ${m.background} | ${(med((r) => r.putsPerSec) / 1000).toFixed(0)}k | ${med((r) => r.maxMs).toFixed(1)} ms | ${(med((r) => r.p999Ms) * 1000).toFixed(0)} µs | ${med((r) => r.jobs)} (${med((r) => r.mergedHere)}) |`);
  }
} finally {
  await browser.close();
  await server.close();
}
