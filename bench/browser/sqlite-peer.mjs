// SQLite-Wasm (@sqlite.org/sqlite-wasm) on OPFS as a bench:browser peer, run in the OPFS
// Worker (opfs-worker.mjs) like strata-kv's OPFS peer. The package's jswasm/ folder is served
// as it ships (run.mjs mounts it at /sqlite-wasm/) and imported at run time, not bundled:
// sqlite3.mjs finds sqlite3.wasm and the "opfs" VFS's async proxy beside itself.
//
// Two VFSes: "opfs-sahpool" (a pool of sync access handles held by this Worker: the fast
// one, no cross-origin isolation needed) and "opfs" (every I/O call handed to a second Worker
// over SharedArrayBuffer + Atomics.wait: needs COOP/COEP, which the static server sends).
// One table `kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID`, prepared statements reused,
// batches and multi-gets in one transaction each.
//
// PRAGMAs: the fastest of those tried here (2,000 entries): locking_mode=EXCLUSIVE (one
// connection holds the file, as strata-kv's Store does; without it every autocommit read
// revalidates the page cache: single gets ran about 80 times slower), journal_mode=WAL (which
// the OPFS VFSes allow only with exclusive locking; single puts about 2.5× faster than
// PERSIST, 5× faster than the default DELETE), synchronous=OFF (a commit does not flush
// the file, as strata-kv's writes with sync: false are not flushed per operation either) and
// cache_size 64 MiB, strata-kv's default block cache, for the same memory (with the default
// 2 MB, batches ran about half as fast and multi-gets and scans 4–6 times slower at 20,000).

/** The `api` column text of the SQLite peers. */
export const SQLITE_API = {
  put: 'INSERT OR REPLACE (autocommit)',
  batch: 'BEGIN; 1,000 × INSERT OR REPLACE; COMMIT',
  get: 'SELECT v WHERE k = ?',
  getMany: 'BEGIN; 1,000 × SELECT v WHERE k = ?; COMMIT',
  scan: 'SELECT k, v ORDER BY k',
  seek: 'SELECT k, v WHERE k >= ? ORDER BY k LIMIT 100',
  reopen: 'close, open, SELECT',
};

const SCHEMA = 'CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID';

let loaded;
/** sqlite3, loaded once per Worker from the served jswasm/ folder. */
function loadSqlite() {
  loaded ??= (async () => {
    const url = new URL('/sqlite-wasm/sqlite3.mjs', self.location.href).href;
    const { default: init } = await import(/* @vite-ignore */ url);
    return init({ print: () => {}, printErr: (...a) => console.error(...a) });
  })();
  return loaded;
}

/**
 * The peer description for runPeer: `vfs` 'opfs-sahpool' or 'opfs', the database in a fresh
 * place (`tag`: unique per round) removed by afterClose. Reopening the sahpool one releases
 * and reacquires its pool's access handles (pauseVfs/unpauseVfs), as a new page would.
 */
export async function sqlitePeer(name, vfs, tag) {
  const sqlite3 = await loadSqlite();
  let pool, file, openDb, remove;
  if (vfs === 'opfs-sahpool') {
    pool = await sqlite3.installOpfsSAHPoolVfs({ name: `sahpool-${tag}`, directory: `.sahpool-${tag}`, initialCapacity: 6 });
    file = '/kv.db';
    openDb = () => new pool.OpfsSAHPoolDb(file);
    remove = () => pool.removeVfs();
  } else {
    if (!sqlite3.oo1.OpfsDb) throw new Error('the "opfs" VFS did not install (no SharedArrayBuffer: page not cross-origin isolated?)');
    file = `sqlite-bench-${tag}.db`;
    openDb = () => new sqlite3.oo1.OpfsDb(file, 'c');
    remove = async () => {
      const root = await navigator.storage.getDirectory();
      for (const f of [file, `${file}-journal`]) await root.removeEntry(f).catch(() => {});
    };
  }
  const open = async () => {
    if (pool?.isPaused()) await pool.unpauseVfs();
    return sqliteHandle(openDb(), () => pool?.pauseVfs());
  };
  return { name, api: SQLITE_API, open, reopen: open, afterClose: remove };
}

/** An adapter handle (bench/adapters/common.mjs) over an open oo1 database. */
function sqliteHandle(db, afterClose) {
  db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536');
  // SQLite answers with the mode it kept: a VFS without WAL support stays in 'delete'.
  const mode = db.selectValue('PRAGMA journal_mode = WAL');
  if (mode !== 'wal') throw new Error(`SQLite kept journal_mode ${mode}, not wal`);
  db.exec(SCHEMA);
  const ins = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
  const sel = db.prepare('SELECT v FROM kv WHERE k = ?');
  const seek = db.prepare('SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?');
  const all = db.prepare('SELECT k, v FROM kv ORDER BY k');
  const put = (k, v) => { ins.bind(1, k).bind(2, v).stepReset(); };
  const get = (k) => {
    sel.bind(1, k);
    const v = sel.step() ? sel.getBlob(0) : undefined;
    sel.reset();
    return v;
  };
  return {
    put,
    putAll(entries) {
      db.exec('BEGIN');
      try {
        for (let i = 0; i < entries.length; i++) put(entries[i][0], entries[i][1]);
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    get,
    getMany(keys) {
      db.exec('BEGIN');
      try {
        const out = new Array(keys.length);
        for (let i = 0; i < keys.length; i++) out[i] = get(keys[i]);
        return out;
      } finally {
        db.exec('COMMIT');
      }
    },
    scan(weigh) {
      let n = 0, sum = 0;
      try {
        while (all.step()) {
          all.getString(0);
          sum += weigh(all.getBlob(1));
          n++;
        }
      } finally {
        all.reset();
      }
      return { n, sum };
    },
    seek(key, limit) {
      let n = 0, bytes = 0;
      seek.bind(1, key).bind(2, limit);
      try {
        while (seek.step()) {
          seek.getString(0);
          bytes += seek.getBlob(1).length;
          n++;
        }
      } finally {
        seek.reset();
      }
      return { n, bytes };
    },
    async close() {
      for (const s of [ins, sel, seek, all]) s.finalize();
      db.close();
      afterClose();
    },
  };
}
