// Where the time of bench:disk's cold gets goes (docs/PERFORMANCE.md, "Cold gets"), for one
// peer on a directory that `child.mjs <peer> fill putAll <dir> <entries> <scratch>` wrote:
//   sync; echo 3 > /proc/sys/vm/drop_caches
//   node --expose-gc bench/disk/cold.mjs <peer> <dir> [--entries 1000000] [--gets 10000]
// As child.mjs's read step: an untimed warm-up on a small store elsewhere, the read data made,
// a full GC, the reopen, a full GC; then the first `gets` gets of the first pass (the cold
// gets, the first one included). For the reopen and the gets: wall ms, and from Linux's
// /proc/self (every thread of the process) the read system calls, the bytes they asked for
// (rchar), the bytes read from the device (read_bytes: page cache misses, readahead
// included) and major page faults (mmapped files read in); and V8's garbage collections in
// that span (count and ms of the major ones). Prints one JSON line.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance, constants } from 'node:perf_hooks';
import { loadAdapter } from '../adapters/common.mjs';
import { parseArgs } from '../lib/args.mjs';
import { settle } from '../lib/dist.mjs';
import { makeReadData, fillBatched, getRange } from './workloads.mjs';

const opts = parseArgs(process.argv.slice(2), {
  peer: { type: 'string' }, dir: { type: 'string' },
  entries: { type: 'int', default: 1_000_000, min: 1 }, gets: { type: 'int', default: 10_000, min: 1 },
}, { positional: ['peer', 'dir'], usage: 'node --expose-gc bench/disk/cold.mjs <peer> <dir> [--entries N] [--gets N]' });
const adapter = await loadAdapter(opts.peer);

function counters() {
  const io = Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const majflt = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[9]);
  return { t: performance.now(), syscr: io.syscr, rchar: io.rchar, readBytes: io.read_bytes, majflt };
}
const gcs = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e); }).observe({ entryTypes: ['gc'] });
/** The span from `a` to `b`, with the GCs that started in it (observed ones arrive async). */
function span(a, b) {
  const inside = gcs.filter((g) => g.startTime >= a.t && g.startTime < b.t);
  const major = inside.filter((g) => g.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
  const KiB = (x) => Math.round(x / 1024);
  return { ms: Math.round(b.t - a.t), readCalls: b.syscr - a.syscr, askedKiB: KiB(b.rchar - a.rchar), deviceKiB: KiB(b.readBytes - a.readBytes),
    majorFaults: b.majflt - a.majflt, gcs: inside.length, majorGcs: major.length, majorGcMs: Math.round(major.reduce((s, g) => s + g.duration, 0)) };
}

// The warm-up of child.mjs: the timed code paths compiled and optimized first.
const warm = join(tmpdir(), `strata-cold-warmup-${process.pid}`);
rmSync(warm, { recursive: true, force: true });
mkdirSync(warm, { recursive: true });
try {
  const w = makeReadData(20_000);
  let h = await adapter.open({ dir: warm });
  await fillBatched(h, w.keys);
  await h.close();
  h = await adapter.open({ dir: warm });
  getRange(h, w.keys, w.firstOrder, 0, w.entries);
  getRange(h, w.missing, w.warmOrder, 0, w.entries);
  await h.close();
} finally { rmSync(warm, { recursive: true, force: true }); }

const d = makeReadData(opts.entries);
await settle();
const c0 = counters();
const h = await adapter.open({ dir: opts.dir });
const c1 = counters();
await settle();
const c2 = counters();
const sum = getRange(h, d.keys, d.firstOrder, 0, opts.gets);
const c3 = counters();
const cache = h.stats?.().blockCache;
await h.close();
await new Promise((r) => setTimeout(r, 200)); // the observer's last entries
console.log(JSON.stringify({ peer: opts.peer, reopen: span(c0, c1), cold: { gets: opts.gets, perSecond: Math.round(opts.gets / ((c3.t - c2.t) / 1000)), ...span(c2, c3) },
  check: sum, ...(cache ? { blockCache: cache } : {}) }));
