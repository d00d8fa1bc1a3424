// Dexie (IndexedDB) as a bench:browser peer, in the page. Dexie rather than idb-keyval: both
// are thin over IndexedDB, but idb-keyval has no key ranges (no seek + 100, no ordered
// paging), while Dexie's bulkPut / bulkGet / where(':id').aboveOrEqual().limit() map each
// operation here to one IndexedDB request (getAll with a count) as a developer would write it.
// One object store with out-of-line string keys and Uint8Array values.
import Dexie from 'dexie';

export const DEXIE_API = {
  put: 'await table.put',
  batch: 'await bulkPut (1,000)',
  get: 'await table.get',
  getMany: 'await bulkGet (1,000)',
  scan: 'primaryKeys() + toArray() (one transaction)',
  seek: "where(':id').aboveOrEqual(k).limit(100): keys + values",
  reopen: 'close, new Dexie, open, get',
};

/** A Dexie database `name` (one table kv, out-of-line keys) as an adapter handle. */
async function dexieHandle(name) {
  const db = new Dexie(name);
  db.version(1).stores({ kv: '' });
  await db.open();
  const kv = db.table('kv');
  return {
    asyncWrites: true,
    asyncSeek: true,
    putAsync: (k, v) => kv.put(v, k),
    putAll: (entries) => kv.bulkPut(entries.map((e) => e[1]), entries.map((e) => e[0])),
    getAsync: (k) => kv.get(k),
    getMany: (keys) => kv.bulkGet(keys),
    scan: (weigh) => db.transaction('r', kv, async () => {
      const [keys, values] = await Promise.all([kv.toCollection().primaryKeys(), kv.toArray()]);
      let sum = 0;
      for (let i = 0; i < values.length; i++) sum += weigh(values[i]);
      if (keys.length !== values.length) throw new Error('Dexie scan: keys and values differ in number');
      return { n: values.length, sum };
    }),
    seek: (key, limit) => db.transaction('r', kv, async () => {
      const range = () => kv.where(':id').aboveOrEqual(key).limit(limit);
      const [keys, values] = await Promise.all([range().primaryKeys(), range().toArray()]);
      let bytes = 0;
      for (let i = 0; i < values.length; i++) bytes += values[i].length;
      if (keys.length !== values.length) throw new Error('Dexie seek: keys and values differ in number');
      return { n: values.length, bytes };
    }),
    close: async () => db.close(),
  };
}

let names = 0;
/** The peer for runPeer: a fresh database per round, deleted after its last close. */
export function dexiePeer(timed) {
  let name;
  return {
    name: 'Dexie (IndexedDB)',
    api: DEXIE_API,
    asyncGet: true,
    timed,
    open: () => dexieHandle(name = `dexie-bench-${Date.now()}-${names++}`),
    reopen: () => dexieHandle(name),
    afterClose: () => Dexie.delete(name),
  };
}
