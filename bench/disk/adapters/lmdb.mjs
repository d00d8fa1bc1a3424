// lmdb: LMDB (C, memory-mapped B+ tree) through its sync APIs, opened as in bench:peers:
// raw values (encoding 'binary'), noSync (no fsync at commit, like the other peers) and
// useWritemap (writes straight into the map). The map's pages reach the file when the OS
// writes them back or when the driver's fsync after close() forces them.
import { open } from 'lmdb';

export default {
  name: 'lmdb',
  options: "open({ path: dir + '/db', encoding: 'binary', noSync: true, useWritemap: true })",
  api: {
    'fill-putAll': 'transactionSync(1,000 × putSync)',
    'fill-put': 'putSync (one transaction each)',
    close: 'close()',
    get: 'get',
    scan: 'for…of getRange()',
  },
  async open(dir) {
    const db = open({ path: `${dir}/db`, encoding: 'binary', noSync: true, useWritemap: true });
    return {
      put: (k, v) => { db.putSync(k, v); },
      putAll(entries) {
        db.transactionSync(() => {
          for (let i = 0; i < entries.length; i++) db.putSync(entries[i][0], entries[i][1]);
        });
      },
      get: (k) => db.get(k),
      scan() {
        let n = 0, sum = 0;
        for (const { value: v } of db.getRange()) { n++; sum += (v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0; }
        return { n, sum };
      },
      close: () => db.close(),
    };
  },
};
