// Point gets A/B across builds, for range deletions' "zero cost when unused" (docs/LSM.md,
// "Range deletions"): `node bench/rangedel-gets.mjs [dist dir …]` (default dist/). On
// bench:peers' data (16-hex-character utf8 keys, 100-byte values, random order), N keys put
// in memory, then N gets of present keys and N of missing ones, timed. Builds that have
// deleteRange also run the gets with one range tombstone alive, over keys outside the data
// ("x".."y": it hides nothing), for what a live tombstone costs. Each round runs one child
// process per build, alternating, so a busy second core loads them alike; prints per-build
// medians of gets/s and their ratios to the first build. Asserts nothing.
//   --entries N (200,000)  --rounds R (7)
import { resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { compareBuilds } from './lib/ab-builds.mjs';
import { parseArgs } from './lib/args.mjs';
import { makeData, makeValue } from './lib/data.mjs';

const o = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 200_000, min: 1 },
  rounds: { type: 'int', default: 7, min: 1 },
  child: { type: 'string', default: undefined },
}, { usage: 'node bench/rangedel-gets.mjs [--entries N] [--rounds R] [dist dir …]', rest: true });
const { entries, rounds } = o;

if (o.child !== undefined) {
  const { Store, codecs } = await import(pathToFileURL(resolve(o.child, 'index.js')).href);
  const d = makeData(entries);
  const out = {};
  const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes });
  for (let i = 0; i < entries; i++) store.put(d.keys[i], makeValue(i));
  const gets = (label) => {
    let t = performance.now();
    for (let i = 0; i < entries; i++) store.get(d.keys[d.getOrder[i]]);
    out[`get hit${label}`] = entries / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < entries; i++) store.get(d.missing[i]);
    out[`get miss${label}`] = entries / ((performance.now() - t) / 1000);
  };
  gets('');
  if (typeof store.deleteRange === 'function') {
    store.deleteRange('x', 'y');
    gets(' (1 range tombstone in memtable)');
    await store.flush();
    gets(' (1 range tombstone in a run)');
  }
  await store.close();
  process.stdout.write(JSON.stringify(out));
} else {
  compareBuilds(fileURLToPath(import.meta.url), o._, { entries, rounds });
}
