// strata-kv with utf8 keys and raw byte values; every call is sync. Without a directory, the
// in-memory Store. With one, Store.open({ path, sync: false }) with default tuning: writes go
// to the write-ahead log (buffered, not fsynced; in a browser, OPFS); close() flushes the
// memtable into a run file and fsyncs it, so close() is the durability step. Reopen reads
// each run file's index and bloom; data blocks are read on demand into the block cache
// (default 64 MiB). Opened with `sync: true` (bench:disk's durable-put phase): Store.open({ path,
// sync: true }), whose put fsyncs the log before it returns (durablePut). Compaction as the store's default (in Node: on a background worker
// thread for a store with a directory, in slices paid by writes in memory); the variants
// strata-kv-slices (`background: false`) and strata-kv-bg (`background: true`) open the
// other mode. No Node imports: bench:browser bundles it with the built package;
// strata-kv.mjs, strata-kv-slices.mjs and strata-kv-bg.mjs give Node suites the adapters.

// Above every 16-hex-digit key in byte order: range() takes [from, to).
const AFTER_ALL = '\uffff';

/** The adapter over the package `pkg` (its Store and codecs); `build` names the build.
 *  `background` (when given) is passed to Store.open; `name` tells the variants apart. */
export function strataKvAdapter({ Store, codecs }, build, { name = 'strata-kv', background } = {}) {
  const bg = background === undefined ? {} : { background };
  const how = background === false ? 'background: false (compaction in slices on the store\'s thread), '
    : background === true ? 'background: true (compaction on the background worker thread), ' : '';
  return {
    name,
    build,
    ordered: true,
    syncPut: true,
    options: `Store.open({ path, sync: false${background === undefined ? '' : `, background: ${background}`} }), ${how}` +
      'default tuning (4 MiB memtable, 4 KiB blocks, 10 bloom bits/key)',
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
    durable: {
      options: `Store.open({ path, sync: true${background === undefined ? '' : `, background: ${background}`} })`,
      put: 'put (appends to the log and fsyncs it before returning)',
    },
    async open({ dir, sync = false } = {}) {
      const onDisk = dir === undefined ? {} : { path: dir, sync };
      const store = await Store.open({ ...onDisk, ...bg, keyCodec: codecs.utf8, valueCodec: codecs.bytes });
      return {
        put: (k, v) => store.put(k, v),
        ...(sync ? { durablePut: (k, v) => store.put(k, v) } : {}),
        putAll: (entries) => store.putAll(entries),
        get: (k) => store.get(k),
        getMany: (keys) => store.getAll(keys),
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
        flush: () => store.flush(),
        close: () => store.close(),
      };
    },
  };
}
