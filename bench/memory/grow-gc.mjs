// What a Wasm memory.grow costs beside a large JS heap, and what growing a store's memory once,
// ahead (bindings/engine/memory-reserve.ts) buys. `node bench/memory/grow-gc.mjs [dist dir …]`
//   1. V8 alone: a JS heap of --heap-keys live objects, then a WebAssembly.Memory grown by
//      64 MiB steps from 64 MiB, each grow timed, with the mark-compacts it set off counted
//      (PerformanceObserver 'gc', major); then one made 1 GiB at creation, timed.
//   2. A/B across builds (default dist/): each build in its own process, alternating, fills an
//      in-memory store with --entries puts (bench:peers' keys, held in the heap as
//      bench:peers holds them; 100-byte values made per put) and reports puts/s and the
//      major GCs during the fill; then the time of 200 opens and closes of an empty store
//      beside that heap (what a reservation made at open would cost). Medians of --rounds.
//   --heap-keys N (2,000,000)  --entries N (1,000,000)  --rounds R (3)
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { root, median } from '../lib/dist.mjs';
import { parseArgs } from '../lib/args.mjs';
import { makeData, makeValue } from '../lib/data.mjs';

const o = parseArgs(process.argv.slice(2), {
  heapKeys: { type: 'int', default: 2_000_000, min: 0 },
  entries: { type: 'int', default: 1_000_000, min: 1 },
  rounds: { type: 'int', default: 3, min: 1 },
  child: { type: 'string', default: undefined },
}, { usage: 'node bench/memory/grow-gc.mjs [--heap-keys N] [--entries N] [--rounds R] [dist dir …]', rest: true });

/** Counts major GCs (mark-compacts, and the incremental marking that ends in one) from now on. */
function majorGcs() {
  const seen = { n: 0, ms: 0 };
  const major = [constants.NODE_PERFORMANCE_GC_MAJOR, constants.NODE_PERFORMANCE_GC_INCREMENTAL];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (major.includes(e.detail?.kind)) { seen.n++; seen.ms += e.duration; }
  });
  obs.observe({ entryTypes: ['gc'] });
  return { seen, stop: () => obs.disconnect() };
}
const tick = () => new Promise((r) => setTimeout(r, 50)); // GC entries reach observers a little later

if (o.child !== undefined) {
  const { Store, codecs } = await import(pathToFileURL(resolve(o.child, 'index.js')).href);
  const d = makeData(o.entries);
  const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes });
  const gcs = majorGcs();
  const t0 = performance.now();
  for (let i = 0; i < o.entries; i++) store.put(d.keys[i], makeValue(i));
  const ms = performance.now() - t0;
  await tick();
  gcs.stop();
  const memoryMiB = store.stats().memoryBytes / 2 ** 20;
  await store.close();
  const t1 = performance.now();
  for (let i = 0; i < 200; i++) { const s = await Store.open(); s.put(new Uint8Array([1]), new Uint8Array([2])); await s.close(); }
  const opensMs = performance.now() - t1;
  process.stdout.write(JSON.stringify({ puts: o.entries / (ms / 1000), majorGcs: gcs.seen.n, gcMs: gcs.seen.ms, memoryMiB, opensMs, keys: d.keys.length }));
} else {
  const heap = Array.from({ length: o.heapKeys }, (_, i) => ({ k: `k${i.toString(16).padStart(15, '0')}` }));
  console.log(`1. V8 alone, beside a JS heap of ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB:`);
  // The grows one after another, as a fill makes them (no turn of the event loop between).
  const mem = new WebAssembly.Memory({ initial: 1024, maximum: 65536 });
  let gcs = majorGcs();
  const times = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    mem.grow(1024);
    times.push(performance.now() - t0);
  }
  await tick();
  gcs.stop();
  console.log(`   six grows of 64 MiB from 64 MiB: ${times.map((t) => t.toFixed(1)).join(', ')} ms; ${gcs.seen.n} major GCs, ${gcs.seen.ms.toFixed(0)} ms`);
  gcs = majorGcs();
  const t0 = performance.now();
  const big = new WebAssembly.Memory({ initial: 16384, maximum: 65536 });
  const ms = performance.now() - t0;
  await tick();
  gcs.stop();
  console.log(`   a memory made 1 GiB at creation: ${ms.toFixed(1)} ms; ${gcs.seen.n} major GCs (${big.buffer.byteLength >>> 20} MiB; ${heap.length} objects kept)`);
  console.log(`2. An in-memory fill of ${o.entries} puts (bench:peers keys, held; values made per put), per build, median of ${o.rounds}:`);
  const builds = o._.length > 0 ? o._ : [join(root, 'dist')];
  const runs = builds.map(() => []);
  for (let r = 0; r < o.rounds; r++) {
    builds.forEach((dist, b) => {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--entries', String(o.entries), '--child', dist], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${dist}: ${p.stderr}`);
      runs[b].push(JSON.parse(p.stdout));
    });
  }
  const base = median(runs[0].map((x) => x.puts));
  builds.forEach((dist, b) => {
    const m = (k) => median(runs[b].map((x) => x[k]));
    console.log(`   ${dist}: ${(m('puts') / 1000).toFixed(0)}k puts/s (${(m('puts') / base).toFixed(2)}×), ${m('majorGcs')} major GCs taking ${m('gcMs').toFixed(0)} ms, linear memory ${m('memoryMiB').toFixed(0)} MiB; 200 opens and closes ${m('opensMs').toFixed(0)} ms`);
  });
}
