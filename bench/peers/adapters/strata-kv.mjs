// strata-kv: the in-memory Store with utf8 keys and raw byte values; every call is sync.
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

// Above every 16-hex-digit key in byte order: range() takes [from, to).
const AFTER_ALL = '\uffff';

export default {
  name: 'strata-kv',
  build,
  ordered: true,
  api: {
    'fill-put': 'put',
    'fill-putAll': 'putAll (1,000 pairs, one atomic batch)',
    get: 'get',
    'get-missing': 'get',
    scan: 'for…of all()',
    seek: "for…of range(key, '\\uffff', { limit: 100 })",
    mix: 'get + put',
  },
  async open() {
    const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes });
    return {
      put: (k, v) => store.put(k, v),
      putAll: (entries) => store.putAll(entries),
      get: (k) => store.get(k),
      scan() {
        let n = 0, bytes = 0;
        for (const [, v] of store.all()) { n++; bytes += v.length; }
        return { n, bytes };
      },
      seek(key, limit) {
        let n = 0, bytes = 0;
        for (const [, v] of store.range(key, AFTER_ALL, { limit })) { n++; bytes += v.length; }
        return { n, bytes };
      },
      close: () => store.close(),
    };
  },
};
