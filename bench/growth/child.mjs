// One size of bench/growth/run.mjs: prints one JSON object of measurements on stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../dist/index.js';
import { key } from './keys.mjs';

const n = Number(process.argv[2]);
const dir = process.argv[3] === 'disk' ? mkdtempSync(join(tmpdir(), 'strata-growth-')) : undefined;
const baseRss = process.memoryUsage().rss;
const value = new Uint8Array(100).fill(7);
const store = await Store.open({ path: dir });

const lat = new Float64Array(n);
let t = performance.now();
const started = t;
for (let i = 0; i < n; i++) {
  store.put(key(i), value);
  const now = performance.now();
  lat[i] = now - t;
  t = now;
}
const fillMs = performance.now() - started;
const rss = process.memoryUsage().rss;
lat.sort();
const q = (p) => lat[Math.min(n - 1, Math.floor(p * n))] * 1000;
let over10 = 0;
for (let i = n - 1; i >= 0 && lat[i] > 10; i--) over10++;

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
  fillOpsPerSec: n / (fillMs / 1000), p50Us: q(0.5), p99Us: q(0.99), p999Us: q(0.999), maxPauseMs: lat[n - 1], pausesOver10Ms: over10,
  getOpsPerSec: LOOKUPS / (getMs / 1000), missOpsPerSec: LOOKUPS / (missMs / 1000), scanPerSec: n / (scanMs / 1000),
  rssBytesPerEntry: (rss - baseRss) / n,
}));
