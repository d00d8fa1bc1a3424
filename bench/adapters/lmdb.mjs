// lmdb: LMDB (C, memory-mapped B+ tree) through its sync APIs, in `${dir}/db` (a temporary
// directory without one). Values are stored raw (encoding 'binary'); noSync, like the other
// peers, skips fsync at commit, and useWritemap (writes straight into the map) measured
// 1.5–3× faster for writes here. The map's pages reach the file when the OS writes them back
// or when bench:disk's fsync after close() forces them. get returns a copy; getBinaryFast (a
// reused buffer, valid until the next read) is faster but does not give the caller a value
// it can keep. Opened with `sync: true` (bench:disk's durable-put phase): open({ path,
// encoding: 'binary', overlappingSync: false }), that is without noSync, useWritemap and
// overlappingSync (which lmdb-js turns on by default on Linux: it commits with MDB_NOSYNC and
// flushes later, so putSync would return before the data is on disk). Then putSync is a
// synchronous write transaction whose mdb_txn_commit writes the pages and fdatasyncs before it
// returns: durablePut.
import { open } from 'lmdb';
import { storeDir } from './common.mjs';

export default {
  name: 'lmdb',
  ordered: true,
  syncPut: true,
  options: "open({ path: dir + '/db', encoding: 'binary', noSync: true, useWritemap: true })",
  api: {
    'fill-put': 'putSync (one transaction each)',
    'fill-putAll': 'transactionSync(1,000 × putSync)',
    get: 'get',
    'get-missing': 'get',
    scan: 'for…of getRange()',
    seek: 'for…of getRange({ start: key, limit: 100 })',
    mix: 'get + putSync',
    close: 'close()',
  },
  durable: {
    options: "open({ path: dir + '/db', encoding: 'binary', overlappingSync: false })",
    put: 'putSync (one transaction each, committed with an fdatasync)',
  },
  async open({ dir, sync = false } = {}) {
    const home = storeDir(dir, 'strata-peer-lmdb-');
    const db = open(sync
      ? { path: `${home.path}/db`, encoding: 'binary', overlappingSync: false }
      : { path: `${home.path}/db`, encoding: 'binary', noSync: true, useWritemap: true });
    return {
      put: (k, v) => { db.putSync(k, v); },
      ...(sync ? { durablePut: (k, v) => { db.putSync(k, v); } } : {}),
      putAll(entries) {
        db.transactionSync(() => {
          for (let i = 0; i < entries.length; i++) db.putSync(entries[i][0], entries[i][1]);
        });
      },
      get: (k) => db.get(k),
      scan(weigh) {
        let n = 0, sum = 0;
        for (const { value } of db.getRange()) { n++; sum += weigh(value); }
        return { n, sum };
      },
      seek(key, limit) {
        let n = 0, bytes = 0;
        for (const { value } of db.getRange({ start: key, limit })) { n++; bytes += value.length; }
        return { n, bytes };
      },
      async close() {
        try { await db.close(); } finally { home.remove(); }
      },
    };
  },
};
