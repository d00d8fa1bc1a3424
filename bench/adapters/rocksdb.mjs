// rocksdb: RocksDB (C++) through @nxtedition/rocksdb's RocksLevel, in `dir` (a temporary
// directory without one), with the binding's defaults: an 8 MiB HyperClockCache block cache,
// 10-bit bloom filters, ZSTD-compressed table files (bench:disk's values do not compress,
// bench:peers' mostly-zero ones do), RocksDB's 64 MiB write buffer and leveled compaction,
// background threads = hardware threads ÷ 2 (1 on a 2-CPU machine).
// Its public abstract-level 1 methods (get, put, batch().write(), nextv) take callbacks or
// return promises; the fork's synchronous methods are underscore-prefixed, and this adapter
// uses those: _getManySync for gets, one reused WriteBatch (_chainedBatch(): _put, then
// _writeSync and _clear) for writes, _seekSync / _nextvSync on iterators (closed with their
// public close()). A single put is that batch with one entry, which is how the binding's own
// put() writes (it then calls back on the next tick).
// Durability: writes go to the WAL with { sync: false } (written, not fsynced: no fsync per
// write, like every other peer), and close() leaves the memtable in the WAL (.log), which
// reopen replays. Opened with `sync: true` (bench:disk's durable-put phase), durablePut is the
// one-put WriteBatch written with _writeSync({ sync: true }): binding.cc's batch_write sets
// rocksdb::WriteOptions.sync, so RocksDB fsyncs the WAL before Write returns.
import { RocksLevel } from '@nxtedition/rocksdb';
import { storeDir } from './common.mjs';

const PAGE = 1000;
const NO_SYNC = { sync: false };
const SYNC = { sync: true };

export default {
  name: 'rocksdb',
  ordered: true,
  syncPut: true,
  options: "new RocksLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' }), writes { sync: false }, defaults otherwise",
  api: {
    'fill-put': 'a one-put WriteBatch: _put + _writeSync (no public sync put)',
    'fill-putAll': 'a WriteBatch of 1,000 _put + _writeSync',
    get: '_getManySync([key])',
    'get-missing': '_getManySync([key])',
    scan: 'iterator()._nextvSync(1,000)',
    seek: 'one iterator: _seekSync(key) + _nextvSync(100)',
    mix: '_getManySync + one-put WriteBatch',
    close: 'close() (the memtable stays in the WAL)',
  },
  durable: {
    options: 'the same open',
    put: 'a one-put WriteBatch: _put + _writeSync({ sync: true })',
  },
  async open({ dir, sync = false } = {}) {
    const home = storeDir(dir, 'strata-peer-rocksdb-');
    const db = new RocksLevel(home.path, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    // One WriteBatch for every write: cleared after each write, so it never holds more than
    // one putAll's entries.
    const batch = db._chainedBatch();
    const write = (options = NO_SYNC) => {
      try { batch._writeSync(options); } finally { batch._clear(); }
    };
    let seeker = null;
    return {
      put(k, v) {
        batch._put(k, v);
        write();
      },
      ...(sync ? {
        durablePut(k, v) {
          batch._put(k, v);
          write(SYNC);
        },
      } : {}),
      putAll(entries) {
        for (let i = 0; i < entries.length; i++) batch._put(entries[i][0], entries[i][1]);
        write();
      },
      get: (k) => db._getManySync([k])[0],
      async scan(weigh) {
        let n = 0, sum = 0;
        const it = db.iterator();
        try {
          for (;;) {
            // rows: [key0, value0, key1, value1, …]
            const { rows, finished } = it._nextvSync(PAGE);
            for (let i = 1; i < rows.length; i += 2) sum += weigh(rows[i]);
            n += rows.length / 2;
            if (finished) break;
          }
        } finally {
          await it.close();
        }
        return { n, sum };
      },
      seek(key, limit) {
        seeker ??= db.iterator();
        seeker._seekSync(key);
        let n = 0, bytes = 0;
        while (n < limit) {
          const { rows, finished } = seeker._nextvSync(limit - n);
          for (let i = 1; i < rows.length; i += 2) bytes += rows[i].length;
          n += rows.length / 2;
          if (finished) break;
        }
        return { n, bytes };
      },
      async close() {
        try {
          await seeker?.close();
          await batch.close();
          await db.close();
        } finally {
          home.remove();
        }
      },
    };
  },
};
