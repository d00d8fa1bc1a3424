// The write paths, A/B across builds (`node bench/write-ab.mjs [dist dir …]`, default dist/):
// what the write protocol (validate -> log -> apply -> notify, docs/LSM.md) costs per write.
// Workloads on bench:peers' data (16-hex-character utf8 keys in random order, 100-byte
// values): put, putAll of 1,000 and get in memory; put and putAll of 1,000 with a `path`
// (no sync); put and putAll in memory with a MemoryChangelog sink (sinks now take a write
// before it is applied, through the batch path); write() of 1,000 (every tenth a delete of
// a key written before) in memory and with a `path`. Each round runs one child process per build, the
// builds alternating, so a busy second core loads them alike; prints per-build medians of
// ops/s and their ratios to the first build. Asserts nothing.
//   --entries N (300,000)  --rounds R (3)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { compareBuilds } from './lib/ab-builds.mjs';
import { parseArgs } from './lib/args.mjs';
import { makeData, makeValue, BATCH } from './lib/data.mjs';

const o = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 300_000, min: 1 },
  rounds: { type: 'int', default: 3, min: 1 },
  child: { type: 'string', default: undefined },
}, { usage: 'node bench/write-ab.mjs [--entries N] [--rounds R] [dist dir …]', rest: true });
const { entries, rounds } = o;

if (o.child !== undefined) {
  const { Store, MemoryChangelog, codecs } = await import(pathToFileURL(resolve(o.child, 'index.js')).href);
  const d = makeData(entries);
  const out = {};
  const timed = async (name, options, fill) => {
    const dir = options.path === true ? mkdtempSync(join(tmpdir(), 'strata-write-ab-')) : undefined;
    const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, ...options, path: dir });
    const t0 = performance.now();
    fill(store);
    out[name] = entries / ((performance.now() - t0) / 1000);
    if (name === 'put (memory)') {
      const t1 = performance.now();
      for (let i = 0; i < entries; i++) store.get(d.keys[d.getOrder[i]]);
      out.get = entries / ((performance.now() - t1) / 1000);
    }
    await store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const puts = (s) => { for (let i = 0; i < entries; i++) s.put(d.keys[i], makeValue(i)); };
  const batches = (s) => {
    for (let i = 0; i < entries; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(entries, i + BATCH); j++) batch.push([d.keys[j], makeValue(j)]);
      s.putAll(batch);
    }
  };
  const writes = (s) => {
    for (let i = 0; i < entries; i += BATCH) {
      const ops = [];
      for (let j = i; j < Math.min(entries, i + BATCH); j++) {
        ops.push(j % 10 === 9 ? { type: 'del', key: d.keys[j - 5] } : { type: 'put', key: d.keys[j], value: makeValue(j) });
      }
      s.write(ops);
    }
  };
  await timed('put (memory)', {}, puts);
  await timed('putAll (memory)', {}, batches);
  await timed('write (memory)', {}, writes);
  await timed('put (memory, MemoryChangelog sink)', { changelog: new MemoryChangelog() }, puts);
  await timed('putAll (memory, MemoryChangelog sink)', { changelog: new MemoryChangelog() }, batches);
  await timed('put (path)', { path: true }, puts);
  await timed('putAll (path)', { path: true }, batches);
  await timed('write (path)', { path: true }, writes);
  process.stdout.write(JSON.stringify(out));
} else {
  compareBuilds(fileURLToPath(import.meta.url), o._, { entries, rounds });
}
