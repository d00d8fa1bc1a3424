// One peer, in its own process: `node --expose-gc child.mjs <peer> <time|memory> <entries>`.
// Prints one JSON line on stdout (progress goes to stderr).
//   time:   one round: WORKLOADS in order (fill-put and the reads on one store, then
//           fill-putAll on a fresh one), each workload's rate recorded. A warm-up pass over a
//           small data set runs first, untimed, so the round measures optimized code. The
//           driver runs one such process per peer per round, interleaving peers, so a noisy
//           machine's slow spells spread over all peers instead of landing on one.
//           Each workload's CPU time is split by thread (lib/threads.mjs: main, Worker
//           threads — strata-kv's compaction worker —, other threads), and strata-kv's
//           stats().background is taken after each fill (work still running when the fill
//           ends is not counted: `running` says so).
//   memory: fills a fresh store once with keys made at write time (so the store alone holds
//           them) and reports resident memory per entry: RSS after the fill minus RSS of the
//           open, empty store, both taken after a full GC.
import { performance } from 'node:perf_hooks';
import { loadAdapter } from '../adapters/common.mjs';
import { settle } from '../lib/dist.mjs';
import { keyOf } from '../lib/keys.mjs';
import { BATCH, makeData, makeValue } from '../lib/data.mjs';
import { cpuSnapshot, cpuSince } from '../lib/threads.mjs';
import { WORKLOADS } from './workloads.mjs';

const [peer, mode, entriesArg] = process.argv.slice(2);
const entries = Number(entriesArg);
const WARMUP_ENTRIES = Math.min(entries, 20_000);
const adapter = await loadAdapter(peer);
const log = (msg) => process.stderr.write(`  [${peer}] ${msg}\n`);

/** Runs every workload once on `data`; returns { rates, checks, cpu, background } keyed by
 *  workload id (background: strata-kv's stats().background after each fill). */
async function round(data, report) {
  const workloads = WORKLOADS.filter((w) => w.point || adapter.ordered);
  const rates = {}, checks = {}, cpu = {}, background = {};
  let h = null;
  for (const w of workloads) {
    if (w.fresh || h === null) {
      if (h) await h.close();
      h = null;
      await settle();
      h = await adapter.open();
    }
    await settle();
    const c0 = cpuSnapshot();
    const t0 = performance.now();
    const { ops, check } = await w.run(h, data);
    const ms = performance.now() - t0;
    cpu[w.id] = cpuSince(c0);
    rates[w.id] = ops / (ms / 1000);
    checks[w.id] = check;
    const bg = w.fresh ? h.stats?.().background : undefined;
    if (bg) background[w.id] = bg;
    if (report) {
      const c = cpu[w.id];
      const split = c.available ? `, CPU main ${c.mainMs.toFixed(0)} / worker ${c.workerMs.toFixed(0)} / other ${c.otherMs.toFixed(0)} ms` : '';
      log(`${w.id.padEnd(12)} ${Math.round(rates[w.id]).toLocaleString('en-US').padStart(12)} ${w.unit}/s${split}`);
    }
  }
  await h.close();
  return { rates, checks, cpu, background };
}

async function timeMode() {
  await round(makeData(WARMUP_ENTRIES), false);
  const { rates, checks, cpu, background } = await round(makeData(entries), true);
  // The operations bench:peers runs, in the adapter's order.
  const ids = new Set(WORKLOADS.map((w) => w.id));
  const api = Object.fromEntries(Object.entries(adapter.api).filter(([id]) => ids.has(id)));
  return { peer, name: adapter.name, build: adapter.build, api, mode, entries, rates, checks, cpu, background };
}

async function memoryMode() {
  const h = await adapter.open();
  await settle();
  const before = process.memoryUsage();
  if (h.put) {
    for (let i = 0; i < entries; i++) h.put(keyOf(i), makeValue(i));
  } else {
    for (let b = 0; b < entries; b += BATCH) {
      const chunk = [];
      for (let i = b; i < Math.min(b + BATCH, entries); i++) chunk.push([keyOf(i), makeValue(i)]);
      if (h.asyncWrites) await h.putAll(chunk); else h.putAll(chunk);
    }
  }
  await settle();
  const after = process.memoryUsage();
  if (h.get(keyOf(entries - 1)) === undefined) throw new Error('the last key written is missing');
  await h.close();
  const delta = (k) => after[k] - before[k];
  const result = {
    peer, mode, entries, build: adapter.build,
    rssBytes: delta('rss'),
    bytesPerEntry: delta('rss') / entries,
    heapUsedBytes: delta('heapUsed'),
    externalBytes: delta('external'),
    gcExposed: Boolean(globalThis.gc),
  };
  log(`resident memory ${result.bytesPerEntry.toFixed(1)} B/entry (heap ${(result.heapUsedBytes / entries).toFixed(1)}, external ${(result.externalBytes / entries).toFixed(1)})`);
  return result;
}

const result = mode === 'memory' ? await memoryMode() : await timeMode();
process.stdout.write(JSON.stringify(result) + '\n');
