// strata-kv with utf8 keys and raw byte values; every call is sync. Without a directory, the
// in-memory Store. With one, Store.open({ path, sync: false }) with default tuning: writes go
// to the write-ahead log (buffered, not fsynced); close() flushes the memtable into a run
// file and fsyncs it, so close() is the durability step. Reopen reads each run file's index
// and bloom; data blocks are read on demand into the block cache (default 64 MiB).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// The built package: the runners point STRATA_BENCH_DIST at a copy of dist/ taken when the
// run starts (lib/dist.mjs), so a rebuild during the run cannot mix two builds; otherwise
// dist/ itself.
const entry = process.env.STRATA_BENCH_DIST
  ? pathToFileURL(process.env.STRATA_BENCH_DIST)
  : new URL('../../dist/index.js', import.meta.url);
const { Store, codecs } = await import(entry.href);
/** Identifies the build measured; the driver checks every round used the same one. */
const build = createHash('sha256').update(readFileSync(entry)).digest('hex').slice(0, 12);

// Above every 16-hex-digit key in byte order: range() takes [from, to).
const AFTER_ALL = '\uffff';

export default {
  name: 'strata-kv',
  build,
  ordered: true,
  syncPut: true,
  options: 'Store.open({ path, sync: false }), default tuning (4 MiB memtable, 4 KiB blocks, 10 bloom bits/key)',
  api: {
    'fill-put': 'put',
    'fill-putAll': 'putAll (1,000 pairs, one atomic batch)',
    get: 'get',
    'get-missing': 'get',
    scan: 'for…of all()',
    seek: "for…of range(key, '\\uffff', { limit: 100 })",
    mix: 'get + put',
    close: 'close() (flushes the memtable to a run file, fsyncs)',
  },
  async open({ dir } = {}) {
    const onDisk = dir === undefined ? {} : { path: dir, sync: false };
    const store = await Store.open({ ...onDisk, keyCodec: codecs.utf8, valueCodec: codecs.bytes });
    return {
      put: (k, v) => store.put(k, v),
      putAll: (entries) => store.putAll(entries),
      get: (k) => store.get(k),
      scan(weigh) {
        let n = 0, sum = 0;
        for (const [, v] of store.all()) { n++; sum += weigh(v); }
        return { n, sum };
      },
      seek(key, limit) {
        let n = 0, bytes = 0;
        for (const [, v] of store.range(key, AFTER_ALL, { limit })) { n++; bytes += v.length; }
        return { n, bytes };
      },
      stats: () => store.stats(),
      close: () => store.close(),
    };
  },
};
