// The browser benchmark page's code (bundled by run.mjs): the same keys, values and read
// order as bench:peers (../lib/data.mjs), timed in the page's main thread against
// strata-kv in memory (the Store and the StrataLevel adapter), memory-level and browser-level
// (IndexedDB), and strata-kv in OPFS, timed in a dedicated Worker (opfs-worker.mjs). Every
// peer gets a fresh database per round; rounds rotate the peer order so noise falls on all
// alike; run.mjs takes medians.
import { StrataLevel } from 'strata-kv/level';
import { BrowserLevel } from 'browser-level';
import { makeData, BATCH, VALUE_BYTES } from '../lib/data.mjs';
import memoryLevel from '../adapters/memory-level.mjs';
import { levelHandle } from '../adapters/level-iterate.mjs';
import { OPS, runPeer, strataPeer } from './run-peer.mjs';

export { OPS };

const LEVEL_API = { put: 'await put', batch: 'await batch', get: 'getSync', scan: 'iterator().nextv(1,000)' };

/** Deletes a closed browser-level database's IndexedDB store, so rounds leave nothing behind. */
const dropIndexedDb = (db) => new Promise((resolve, reject) => {
  const req = indexedDB.deleteDatabase(db.namePrefix + db.location);
  req.onsuccess = () => resolve();
  req.onerror = () => reject(req.error);
  req.onblocked = () => resolve();
});

let idbNames = 0;
let idb = null;
export const PEERS = [
  strataPeer('strata-kv', { put: 'Store.put', batch: 'Store.putAll', get: 'Store.get', scan: 'Store.all()' }),
  { name: 'strata-kv (level)', api: LEVEL_API, open: () => levelHandle(new StrataLevel({ keyEncoding: 'utf8', valueEncoding: 'view' })) },
  { name: 'memory-level', api: LEVEL_API, open: () => memoryLevel.open() },
  {
    name: 'browser-level',
    api: { ...LEVEL_API, get: 'await get (no getSync)' },
    asyncGet: true,
    timedOps: 10_000,
    open() {
      idb = new BrowserLevel(`strata-bench-${Date.now()}-${idbNames++}`, { keyEncoding: 'utf8', valueEncoding: 'view' });
      return levelHandle(idb);
    },
    afterClose: () => dropIndexedDb(idb),
  },
  // strata-kv with a path, in the Origin Private File System: sync access handles exist only
  // in dedicated Workers, so the round runs in one (opfs-worker.mjs, the same runPeer) and
  // returns its times. Its put and batch phases end with flush(): their times include making
  // every write durable, as IndexedDB's committed transactions are.
  {
    name: 'strata-kv (OPFS)',
    api: { put: 'Store.put (Worker)', batch: 'Store.putAll (Worker)', get: 'Store.get (Worker)', scan: 'Store.all() (Worker)' },
    inWorker: true,
  },
];

/** One round of the OPFS peer in a dedicated Worker (build/opfs-worker.js, bundled by run.mjs). */
function runInWorker(entries, log) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./opfs-worker.js', import.meta.url), { type: 'module' });
    w.onmessage = ({ data }) => {
      if (data.log) { log(data.log); return; }
      w.terminate();
      if (data.error) reject(new Error(`OPFS worker: ${data.error}`));
      else resolve(data.times);
    };
    w.onerror = (e) => { w.terminate(); reject(new Error(`OPFS worker: ${e.message || 'failed to load'}`)); };
    w.postMessage({ entries });
  });
}

/** Runs every op `rounds` times for every peer; resolves to raw times per peer and op. */
export async function runBench({ entries = 100_000, rounds = 1, log = console.log } = {}) {
  const d = makeData(entries);
  const live = PEERS.filter((p) => !p.pending);
  const times = Object.fromEntries(live.map((p) => [p.name, Object.fromEntries(OPS.map((o) => [o.id, []]))]));
  for (let r = 0; r < rounds; r++) {
    const order = live.map((_, i) => live[(i + r) % live.length]);
    log(`round ${r + 1} of ${rounds}`);
    for (const peer of order) {
      const t = peer.inWorker ? await runInWorker(d.entries, log) : await runPeer(peer, d, log);
      for (const o of OPS) times[peer.name][o.id].push(t[o.id]);
    }
  }
  // Every peer must have read back the same bytes, or its numbers mean nothing.
  for (const o of OPS) {
    const checks = new Set(live.flatMap((p) => times[p.name][o.id].map((x) => x.check)));
    if (checks.size !== 1) throw new Error(`peers disagree on ${o.id}: ${[...checks].join(', ')}`);
  }
  return {
    entries, rounds, valueBytes: VALUE_BYTES, batch: BATCH, ops: OPS,
    peers: PEERS.map((p) => p.pending
      ? { name: p.name, pending: p.pending }
      : {
          name: p.name, api: p.api,
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
    const rows = OPS.map((o) => `<tr><td>${o.title}</td>${r.peers.map((p) => `<td>${p.pending ? '—'
      : Math.round(p.ops[o.id] / median(p.seconds[o.id])).toLocaleString('en-US')}</td>`).join('')}</tr>`);
    $('results').innerHTML = `<table><tr><th>ops/s</th>${r.peers.map((p) => `<th>${p.name}</th>`).join('')}</tr>${rows.join('')}</table>`;
  } catch (err) {
    log(String(err?.stack ?? err));
  } finally {
    $('run').disabled = false;
  }
});
window.benchReady = true;
