// better-sqlite3: SQLite (C, B-tree) through better-sqlite3's synchronous API, one table
//   CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID
// (the table is the key's B-tree; TEXT keys compare with memcmp, so the order is the byte
// order of the other peers) and prepared statements, values read as Buffers (pluck / raw).
// Without `dir`: ':memory:' (no journal file, so no pragmas to set). With one: the file
// `${dir}/db.sqlite` with PRAGMA journal_mode = WAL and PRAGMA synchronous = OFF: each
// commit is appended to the WAL with write() and not fsynced, the durability of every other
// peer's writes (LevelDB / RocksDB without sync, lmdb's noSync, strata-kv's unsynced log);
// close() checkpoints the WAL into the database file and removes it. Opened with `sync: true`
// (bench:disk's durable-put phase): synchronous = FULL in the same WAL mode, so every commit
// fsyncs the WAL before it returns, and durablePut is one INSERT OR REPLACE in its own
// (autocommit) transaction. Defaults otherwise:
// 4 KiB pages, better-sqlite3's 16 MiB page cache (cache_size = -16000), no mmap.
// put is one INSERT OR REPLACE in its own (autocommit) transaction; putAll is db.transaction()
// around 1,000 of them, one transaction per batch.
import { join } from 'node:path';
import Database from 'better-sqlite3';

export default {
  name: 'better-sqlite3',
  ordered: true,
  syncPut: true,
  options: "new Database(dir + '/db.sqlite') with journal_mode = WAL, synchronous = OFF (bench:peers: ':memory:'); " +
    'table kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID, defaults otherwise',
  api: {
    'fill-put': 'INSERT OR REPLACE .run (one transaction each)',
    'fill-putAll': 'transaction(1,000 × INSERT OR REPLACE .run)',
    get: 'SELECT v WHERE k = ? .pluck().get',
    'get-missing': 'SELECT v WHERE k = ? .pluck().get',
    scan: 'SELECT k, v ORDER BY k .raw().iterate()',
    seek: 'SELECT k, v WHERE k >= ? ORDER BY k LIMIT 100 .raw().all',
    mix: 'get + INSERT OR REPLACE .run',
    close: 'close() (checkpoints the WAL into the database file)',
  },
  durable: {
    options: "new Database(dir + '/db.sqlite') with journal_mode = WAL, synchronous = FULL",
    put: 'INSERT OR REPLACE .run (autocommit: one transaction, its WAL fsynced)',
  },
  async open({ dir, sync = false } = {}) {
    // bench:peers (no dir) runs in memory: no file to remove afterwards.
    const db = new Database(dir === undefined ? ':memory:' : join(dir, 'db.sqlite'));
    try {
      if (dir !== undefined) {
        db.pragma('journal_mode = WAL');
        db.pragma(sync ? 'synchronous = FULL' : 'synchronous = OFF');
      }
      db.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID');
    } catch (err) {
      db.close();
      throw err;
    }
    const insert = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
    const insertAll = db.transaction((entries) => {
      for (let i = 0; i < entries.length; i++) insert.run(entries[i][0], entries[i][1]);
    });
    const select = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
    const all = db.prepare('SELECT k, v FROM kv ORDER BY k').raw();
    const from = db.prepare('SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?').raw();
    return {
      put: (k, v) => { insert.run(k, v); },
      ...(sync ? { durablePut: (k, v) => { insert.run(k, v); } } : {}),
      putAll: (entries) => { insertAll(entries); },
      get: (k) => select.get(k),
      scan(weigh) {
        let n = 0, sum = 0;
        for (const row of all.iterate()) { n++; sum += weigh(row[1]); }
        return { n, sum };
      },
      seek(key, limit) {
        const rows = from.all(key, limit);
        let bytes = 0;
        for (let i = 0; i < rows.length; i++) bytes += rows[i][1].length;
        return { n: rows.length, bytes };
      },
      async close() {
        db.close();
      },
    };
  },
};
