// clear() through the abstract-level adapter (`node bench/level-clear.bench.mjs [n]`): n keys
// (16-byte hex, 100-byte values) in memory, cleared whole by range tombstones (no limit) and
// by reading and deleting every key (a limit as large as the store forces that path), and
// a gets pass over n later keys after each. Medians of 3. Uses the built package (npm run
// build). Prints; asserts nothing.
import { StrataLevel } from '../dist/level.js';

const N = Number(process.argv[2] ?? 1_000_000);
const key = (i) => i.toString(16).padStart(16, '0');
const value = 'v'.repeat(100);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

async function round(limit) {
  const db = new StrataLevel();
  await db.open();
  for (let i = 0; i < N; i += 1000) await db.batch(Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ type: 'put', key: key(i + j), value })));
  const t = performance.now();
  await db.clear(limit === undefined ? {} : { limit });
  const ms = performance.now() - t;
  if ((await db.keys({ limit: 1 }).all()).length !== 0) throw new Error('clear left keys');
  await db.close();
  return ms;
}

const ranged = [], keyed = [];
for (let r = 0; r < 3; r++) { ranged.push(await round(undefined)); keyed.push(await round(N + 1)); }
console.log(`clear() of ${N} keys: range tombstones ${median(ranged).toFixed(2)} ms, key by key ${median(keyed).toFixed(0)} ms (${Math.round(median(keyed) / median(ranged))}x)`);
