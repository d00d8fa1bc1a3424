// strata-kv: Store.open({ path, sync: false }) with default tuning, utf8 keys, raw byte
// values; every call is sync. Writes go to the write-ahead log (buffered, not fsynced);
// close() flushes the memtable into a run file and fsyncs it, so close() is the durability
// step. Reopen reads each run file's index and bloom; data blocks are read on demand into
// the block cache (default 64 MiB).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// The built package: run.mjs points STRATA_BENCH_DIST at a copy of dist/ taken when the run
// starts, so a rebuild during the run cannot mix two builds; otherwise dist/ itself.
const entry = process.env.STRATA_BENCH_DIST
  ? pathToFileURL(process.env.STRATA_BENCH_DIST)
  : new URL('../../../dist/index.js', import.meta.url);
const { Store, codecs } = await import(entry.href);
/** Identifies the build measured; the driver checks every round used the same one. */
const build = createHash('sha256').update(readFileSync(entry)).digest('hex').slice(0, 12);

export default {
  name: 'strata-kv',
  build,
  options: 'Store.open({ path, sync: false }), default tuning (4 MiB memtable, 4 KiB blocks, 10 bloom bits/key)',
  api: {
    'fill-putAll': 'putAll (1,000 pairs, one atomic batch)',
    'fill-put': 'put',
    close: 'close() (flushes the memtable to a run file, fsyncs)',
    get: 'get',
    scan: 'for…of all()',
  },
  async open(dir) {
    const store = await Store.open({ path: dir, sync: false, keyCodec: codecs.utf8, valueCodec: codecs.bytes });
    return {
      put: (k, v) => store.put(k, v),
      putAll: (entries) => store.putAll(entries),
      get: (k) => store.get(k),
      scan() {
        let n = 0, sum = 0;
        for (const [, v] of store.all()) { n++; sum += (v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0; }
        return { n, sum };
      },
      stats: () => store.stats(),
      close: () => store.close(),
    };
  },
};
