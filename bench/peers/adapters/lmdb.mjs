// lmdb: LMDB (C, memory-mapped B+ tree) in a temporary directory, through its sync APIs.
// Values are stored raw (encoding 'binary'); noSync, like the other peers, skips fsync, and
// useWritemap (writes straight into the map) measured 1.5–3× faster for writes here.
// get returns a copy; getBinaryFast (a reused buffer, valid until the next read) is faster
// but does not give the caller a value it can keep.
import { open } from 'lmdb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default {
  name: 'lmdb',
  ordered: true,
  api: {
    'fill-put': 'putSync (one transaction each)',
    'fill-putAll': 'transactionSync(1,000 × putSync)',
    get: 'get',
    'get-missing': 'get',
    scan: 'for…of getRange()',
    seek: 'for…of getRange({ start: key, limit: 100 })',
    mix: 'get + putSync',
  },
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'strata-peer-lmdb-'));
    const db = open({ path: dir, encoding: 'binary', noSync: true, useWritemap: true });
    return {
      put: (k, v) => { db.putSync(k, v); },
      putAll(entries) {
        db.transactionSync(() => {
          for (let i = 0; i < entries.length; i++) db.putSync(entries[i][0], entries[i][1]);
        });
      },
      get: (k) => db.get(k),
      scan() {
        let n = 0, bytes = 0;
        for (const { value } of db.getRange()) { n++; bytes += value.length; }
        return { n, bytes };
      },
      seek(key, limit) {
        let n = 0, bytes = 0;
        for (const { value } of db.getRange({ start: key, limit })) { n++; bytes += value.length; }
        return { n, bytes };
      },
      async close() {
        try { await db.close(); } finally { rmSync(dir, { recursive: true, force: true }); }
      },
    };
  },
};
