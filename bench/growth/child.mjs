// One size and mode of bench/growth/run.mjs:
//   node --require ../lib/name-workers.cjs child.mjs <entries> <memory|disk> <on|off>
// `on`: Store.open({ background: true }) (compactions merged on the worker thread); `off`:
// background: false (compactions in slices paid by the puts). Prints one JSON object of
// measurements on stdout: flat numbers (run.mjs takes their medians over rounds), the fill's
// CPU split by thread (lib/threads.mjs: main / Node Worker threads, i.e. the compaction
// worker / other threads, and the process total), and stats().background after the fill
// (bg*; absent with `off`; a job still out when the fill ends is not counted: bgRunning 1).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../dist/index.js';
import { cpuSnapshot, cpuSince } from '../lib/threads.mjs';
import { key } from './keys.mjs';

const n = Number(process.argv[2]);
const dir = process.argv[3] === 'disk' ? mkdtempSync(join(tmpdir(), 'strata-growth-')) : undefined;
const background = process.argv[4] !== 'off';
const baseRss = process.memoryUsage().rss;
const value = new Uint8Array(100).fill(7);
const store = await Store.open({ path: dir, background });

const lat = new Float64Array(n);
const cpu0 = cpuSnapshot();
let t = performance.now();
const started = t;
for (let i = 0; i < n; i++) {
  store.put(key(i), value);
  const now = performance.now();
  lat[i] = now - t;
  t = now;
}
const fillMs = performance.now() - started;
const cpu = cpuSince(cpu0);
const bg = store.stats().background;
const rss = process.memoryUsage().rss;
lat.sort();
const q = (p) => lat[Math.min(n - 1, Math.floor(p * n))] * 1000;
const over = (ms) => {
  let k = 0;
  for (let i = n - 1; i >= 0 && lat[i] > ms; i--) k++;
  return k;
};

const LOOKUPS = 100_000;
const probe = new Uint8Array(16);
let x = 12345, found = 0;
t = performance.now();
for (let i = 0; i < LOOKUPS; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; if (store.get(key(x % n, probe)) !== undefined) found++; }
const getMs = performance.now() - t;
if (found !== LOOKUPS) throw new Error(`found ${found} of ${LOOKUPS}`);
t = performance.now();
for (let i = 0; i < LOOKUPS; i++) { probe.fill(i & 255); probe[15] = 0xfe; if (store.get(probe) !== undefined) throw new Error('phantom key'); }
const missMs = performance.now() - t;
t = performance.now();
let seen = 0;
for (const _ of store.all()) seen++;
const scanMs = performance.now() - t;
if (seen !== n) throw new Error(`scan saw ${seen} of ${n}`);
await store.close();
if (dir) rmSync(dir, { recursive: true, force: true });

console.log(JSON.stringify({
  fillOpsPerSec: n / (fillMs / 1000), fillMs, p50Us: q(0.5), p99Us: q(0.99), p999Us: q(0.999), maxPauseMs: lat[n - 1],
  pausesOver2Ms: over(2), pausesOver10Ms: over(10),
  getOpsPerSec: LOOKUPS / (getMs / 1000), missOpsPerSec: LOOKUPS / (missMs / 1000), scanPerSec: n / (scanMs / 1000),
  rssBytesPerEntry: (rss - baseRss) / n,
  ...(cpu.available ? { cpuMainMs: cpu.mainMs, cpuWorkerMs: cpu.workerMs, cpuOtherMs: cpu.otherMs } : {}),
  cpuProcessMs: cpu.processMs,
  ...(bg ? { bgJobs: bg.jobs, bgFailed: bg.failed, bgRunning: bg.running ? 1 : 0, bgBusyMs: bg.busyMs, bgStalls: bg.stalls, bgStallMs: bg.stallMs,
    bgBytesRead: bg.bytesRead, bgBytesWritten: bg.bytesWritten, ...(bg.lost ? { bgLost: bg.lost } : {}) } : {}),
}));
