// classic-level: LevelDB (C++) in `dir` (a temporary directory without one), with its
// defaults (8 MiB block cache, 4 MiB write buffer, snappy, 10-bit bloom filters). Reads have
// getSync; writes and iterators are async only, so writes go in chained batches of 1,000 (a
// chained batch measured faster than an array batch; no sync single put). No fsync per write
// (LevelDB's default); close() leaves the last memtable in the .log file, which reopen turns
// into a table file. Opened with `sync: true` (bench:disk's durable-put phase), durablePut is
// `await db.put(k, v, { sync: true })`: LevelDB appends to its log and fsyncs it before the
// put's promise resolves.
import { ClassicLevel } from 'classic-level';
import { storeDir } from './common.mjs';
import { levelReads } from './level-iterate.mjs';

export default {
  name: 'classic-level',
  ordered: true,
  syncPut: false,
  options: "new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'view' }), defaults otherwise",
  api: {
    'fill-put': 'chained batch of 1,000 puts (no sync put)',
    'fill-putAll': 'chained batch of 1,000 puts',
    get: 'getSync',
    'get-missing': 'getSync',
    scan: 'iterator().nextv(1,000)',
    seek: 'one iterator: seek(key) + nextv(100)',
    mix: 'getSync + puts in chained batches of 1,000',
    close: 'close()',
  },
  durable: {
    options: 'the same open',
    put: 'await db.put(key, value, { sync: true })',
  },
  async open({ dir, sync = false } = {}) {
    const home = storeDir(dir, 'strata-peer-leveldb-');
    const db = new ClassicLevel(home.path, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    const reads = levelReads(db);
    return {
      ...reads,
      asyncWrites: true,
      ...(sync ? { durablePut: (k, v) => db.put(k, v, { sync: true }) } : {}),
      putAll(entries) {
        const batch = db.batch();
        for (let i = 0; i < entries.length; i++) batch.put(entries[i][0], entries[i][1]);
        return batch.write();
      },
      async close() {
        try {
          await reads.closeSeeker();
          await db.close();
        } finally {
          home.remove();
        }
      },
    };
  },
};
