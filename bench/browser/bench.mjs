// The browser benchmark page's code (bundled by run.mjs): the same keys, values and read
// order as bench:peers (../lib/data.mjs), timed in the page's main thread against
// strata-kv in memory (the Store and the StrataLevel adapter), memory-level, browser-level
// and Dexie (both IndexedDB), and in a dedicated Worker (opfs-worker.mjs) strata-kv in OPFS
// against SQLite-Wasm on its two OPFS VFSes. Every peer gets a fresh database per round;
// rounds rotate the peer order so noise falls on all alike; run.mjs takes medians.
import { StrataLevel } from 'strata-kv/level';
import { BrowserLevel } from 'browser-level';
import { makeData, BATCH, VALUE_BYTES } from '../lib/data.mjs';
import memoryLevel from '../adapters/memory-level.mjs';
import { levelHandle } from '../adapters/level-iterate.mjs';
import { OPS, runPeer, strataPeer } from './run-peer.mjs';
import { dexiePeer } from './dexie-peer.mjs';
import { SQLITE_API } from './sqlite-peer.mjs';

export { OPS };

const LEVEL_API = {
  put: 'await put', batch: 'await batch', get: 'getSync', getMany: 'await getMany',
  scan: 'iterator().nextv(1,000)', seek: 'one iterator: seek(key) + nextv(100)',
};

/** Deletes a closed browser-level database's IndexedDB store, so rounds leave nothing behind. */
const dropIndexedDb = (db) => new Promise((resolve, reject) => {
  const req = indexedDB.deleteDatabase(db.namePrefix + db.location);
  req.onsuccess = () => resolve();
  req.onerror = () => reject(req.error);
  req.onblocked = () => resolve();
});

// What slow peers are timed over (run-peer.mjs), rather than all: IndexedDB commits about a
// thousand transactions a second here and awaits every read; SQLite on OPFS commits a few
// hundred single puts a second.
const IDB_TIMED = { put: 10_000, get: 10_000, seek: 1000 };
const SQLITE_TIMED = { put: 2000 };
// Batches of random keys rewrite most of a B-tree's leaf pages in every transaction: at
// 100,000 entries SQLite's batch phase took minutes a round here, so it is not run on more.
const SQLITE_MAX = { maxEntries: 100_000, maxEntriesWhy: 'batches of random keys rewrite most B-tree pages per transaction (minutes a round at 100,000)' };

let idbNames = 0;
let idb = null;
/**
 * The peers, subject first. `vs`: the strata-kv column each peer's ratio is taken against,
 * like with like: in-memory peers against strata-kv in memory (page), persistent ones against
 * strata-kv in OPFS (Worker). `inWorker`: runs in opfs-worker.mjs (its WORKER_PEERS).
 */
export const PEERS = [
  strataPeer('strata-kv', {
    put: 'Store.put', batch: 'Store.putAll', get: 'Store.get', getMany: 'Store.getAll',
    scan: 'Store.all()', seek: "Store.range(key, '\\uffff', { limit: 100 })",
  }),
  // strata-kv with a path, in the Origin Private File System: sync access handles exist only
  // in dedicated Workers, so the round runs in one (opfs-worker.mjs, the same runPeer) and
  // returns its times. Its put and batch phases end with flush(): their times include making
  // every write durable, as IndexedDB's committed transactions are.
  {
    name: 'strata-kv (OPFS)',
    api: {
      put: 'Store.put + flush()', batch: 'Store.putAll + flush()', get: 'Store.get', getMany: 'Store.getAll',
      scan: 'Store.all()', seek: 'Store.range(…, { limit: 100 })', reopen: 'close, Store.open, get',
    },
    inWorker: true,
  },
  { name: 'strata-kv (level)', api: LEVEL_API, vs: 'strata-kv', open: () => levelHandle(new StrataLevel({ keyEncoding: 'utf8', valueEncoding: 'view' })) },
  { name: 'memory-level', api: LEVEL_API, vs: 'strata-kv', open: () => memoryLevel.open() },
  { name: 'SQLite (opfs-sahpool)', api: SQLITE_API, inWorker: true, vs: 'strata-kv (OPFS)', timed: SQLITE_TIMED, ...SQLITE_MAX },
  { name: 'SQLite (opfs)', api: SQLITE_API, inWorker: true, vs: 'strata-kv (OPFS)', timed: SQLITE_TIMED, ...SQLITE_MAX },
  {
    name: 'browser-level',
    api: { ...LEVEL_API, get: 'await get (no getSync)', reopen: 'close, open, get' },
    vs: 'strata-kv (OPFS)',
    asyncGet: true,
    timed: IDB_TIMED,
    open() {
      idb = new BrowserLevel(`strata-bench-${Date.now()}-${idbNames++}`, { keyEncoding: 'utf8', valueEncoding: 'view' });
      return levelHandle(idb);
    },
    reopen() {
      idb = new BrowserLevel(idb.location, { keyEncoding: 'utf8', valueEncoding: 'view' });
      return levelHandle(idb);
    },
    afterClose: () => dropIndexedDb(idb),
  },
  { ...dexiePeer(IDB_TIMED), vs: 'strata-kv (OPFS)' },
];

/** One round of a Worker peer in a dedicated Worker (build/opfs-worker.js, bundled by run.mjs). */
function runInWorker(peer, entries, log) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./opfs-worker.js', import.meta.url), { type: 'module' });
    w.onmessage = ({ data }) => {
      if (data.log) { log(data.log); return; }
      w.terminate();
      if (data.error) reject(new Error(`${peer.name} (Worker): ${data.error}`));
      else resolve(data.times);
    };
    w.onerror = (e) => { w.terminate(); reject(new Error(`${peer.name} (Worker): ${e.message || 'failed to load'}`)); };
    w.postMessage({ peer: peer.name, entries, timed: peer.timed });
  });
}

/**
 * Runs every op `rounds` times for every peer (or those named in `only`); resolves to raw
 * times per peer and op. A peer with `maxEntries` below `entries` is left out with a note.
 */
export async function runBench({ entries = 100_000, rounds = 1, only, log = console.log } = {}) {
  const d = makeData(entries);
  const skipped = (p) => (only && !only.includes(p.name) ? 'not selected (--only)'
    : p.maxEntries < entries ? `not run at ${entries.toLocaleString('en-US')} entries: ${p.maxEntriesWhy}` : undefined);
  const live = PEERS.filter((p) => !skipped(p));
  const times = Object.fromEntries(live.map((p) => [p.name, Object.fromEntries(OPS.map((o) => [o.id, []]))]));
  for (let r = 0; r < rounds; r++) {
    const order = live.map((_, i) => live[(i + r) % live.length]);
    log(`round ${r + 1} of ${rounds}`);
    for (const peer of order) {
      const t = peer.inWorker ? await runInWorker(peer, d.entries, log) : await runPeer(peer, d, log);
      for (const o of OPS) times[peer.name][o.id].push(t[o.id]);
    }
  }
  // Every peer must have read back the same bytes, or its numbers mean nothing (reopen: only
  // the persistent peers have a check).
  for (const o of OPS) {
    const checks = new Set(live.flatMap((p) => times[p.name][o.id].map((x) => x.check)).filter((c) => c !== undefined));
    if (checks.size > 1) throw new Error(`peers disagree on ${o.id}: ${[...checks].join(', ')}`);
  }
  return {
    entries, rounds, valueBytes: VALUE_BYTES, batch: BATCH, ops: OPS,
    peers: PEERS.map((p) => skipped(p)
      ? { name: p.name, vs: p.vs, pending: skipped(p) }
      : {
          name: p.name, api: p.api, vs: p.vs,
          ops: Object.fromEntries(OPS.map((o) => [o.id, times[p.name][o.id][0].ops])),
          seconds: Object.fromEntries(OPS.map((o) => [o.id, times[p.name][o.id].map((x) => x.seconds)])),
        }),
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
  };
}

// By hand: the Run button renders medians as ops/s.
window.runBench = runBench;
const $ = (id) => document.getElementById(id);
$('run')?.addEventListener('click', async () => {
  const logEl = $('log');
  const log = (s) => { logEl.textContent += s + '\n'; };
  $('run').disabled = true;
  try {
    const r = await runBench({ entries: Number($('entries').value), rounds: Number($('rounds').value), log });
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const rows = OPS.map((o) => `<tr><td>${o.title}</td>${r.peers.map((p) => `<td>${p.pending || !p.ops[o.id] ? '—'
      : o.ms ? (1000 * median(p.seconds[o.id])).toFixed(1) : Math.round(p.ops[o.id] / median(p.seconds[o.id])).toLocaleString('en-US')}</td>`).join('')}</tr>`);
    $('results').innerHTML = `<table><tr><th>ops/s</th>${r.peers.map((p) => `<th>${p.name}</th>`).join('')}</tr>${rows.join('')}</table>`;
  } catch (err) {
    log(String(err?.stack ?? err));
  } finally {
    $('run').disabled = false;
  }
});
window.benchReady = true;
