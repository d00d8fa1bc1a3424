// The browser benchmark page's code (bundled by run.mjs): the same keys, values and read
// order as bench:peers (../peers/workloads.mjs), timed in the page's main thread against
// strata-kv in memory (the Store and the StrataLevel adapter), memory-level and browser-level
// (IndexedDB). Every peer gets a fresh database per round; rounds rotate the peer order so
// noise falls on all alike; run.mjs takes medians.
import { Store, codecs } from 'strata-kv';
import { StrataLevel } from 'strata-kv/level';
import { MemoryLevel } from 'memory-level';
import { BrowserLevel } from 'browser-level';
import { makeData, makeValue, BATCH, VALUE_BYTES } from '../peers/workloads.mjs';
import { levelScan } from '../peers/adapters/level-iterate.mjs';

export const OPS = [
  { id: 'put', title: 'put (one at a time)' },
  { id: 'batch', title: `batch (${BATCH.toLocaleString('en-US')} puts)` },
  { id: 'get', title: 'get (hits)' },
  { id: 'scan', title: 'scan (all, in order)' },
];

/** A Level database as a peer: awaited single puts, batches, its fastest get, nextv scans. */
const levelPeer = (name, make, api, afterClose = async () => {}) => ({
  name,
  api,
  async open() {
    const db = make();
    await db.open();
    const getSync = api.get === 'getSync';
    return {
      put: (k, v) => db.put(k, v),
      batch: (entries) => db.batch(entries.map(([key, value]) => ({ type: 'put', key, value }))),
      get: getSync ? (k) => db.getSync(k) : (k) => db.get(k),
      asyncGet: !getSync,
      scan: () => levelScan(db),
      close: async () => { await db.close(); await afterClose(db); },
    };
  },
});

/** Deletes a closed browser-level database's IndexedDB store, so rounds leave nothing behind. */
const dropIndexedDb = (db) => new Promise((resolve, reject) => {
  const req = indexedDB.deleteDatabase(db.namePrefix + db.location);
  req.onsuccess = () => resolve();
  req.onerror = () => reject(req.error);
  req.onblocked = () => resolve();
});

let idbNames = 0;
export const PEERS = [
  {
    name: 'strata-kv',
    api: { put: 'Store.put', batch: 'Store.putAll', get: 'Store.get', scan: 'Store.all()' },
    async open() {
      const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes });
      return {
        sync: true,
        put: (k, v) => s.put(k, v),
        batch: (entries) => s.putAll(entries),
        get: (k) => s.get(k),
        scan() {
          let n = 0, bytes = 0;
          for (const [, v] of s.all()) { n++; bytes += v.length; }
          return { n, bytes };
        },
        close: () => s.close(),
      };
    },
  },
  levelPeer('strata-kv (level)', () => new StrataLevel({ keyEncoding: 'utf8', valueEncoding: 'view' }),
    { put: 'await put', batch: 'await batch', get: 'getSync', scan: 'iterator().nextv(1,000)' }),
  levelPeer('memory-level', () => new MemoryLevel({ keyEncoding: 'utf8', valueEncoding: 'view' }),
    { put: 'await put', batch: 'await batch', get: 'getSync', scan: 'iterator().nextv(1,000)' }),
  {
    ...levelPeer('browser-level', () => new BrowserLevel(`strata-bench-${Date.now()}-${idbNames++}`, { keyEncoding: 'utf8', valueEncoding: 'view' }),
      { put: 'await put', batch: 'await batch', get: 'await get (no getSync)', scan: 'iterator().nextv(1,000)' }, dropIndexedDb),
    timedOps: 10_000,
  },
  // ---- SLOT: strata-kv (OPFS) ------------------------------------------------------------
  // Fill in when OPFS persistence exists (issue #7): open the Store with { path } in a
  // dedicated Worker (sync access handles are Worker-only), run the same four operations
  // there, and return their times. Until then the column prints "—" and the JSON says why.
  { name: 'strata-kv (OPFS)', pending: 'OPFS persistence is not implemented yet (issue #7)' },
];

/**
 * One round of one peer on a fresh database: single puts of the first keys, batches of the
 * rest (so the store ends with `entries` keys), gets of keys in random order, then a full
 * scan. A peer with `timedOps` (IndexedDB: about a thousand transactions a second here) is
 * timed over that many puts and gets instead of all; rates stay per operation. Returns
 * seconds and operation counts per op, and checks every peer must agree on.
 */
async function runPeer(peer, d, log) {
  const { keys, getOrder, entries } = d;
  const puts = Math.min(peer.timedOps ?? Infinity, entries >> 1);
  const gets = Math.min(peer.timedOps ?? Infinity, entries);
  const t = {};
  const time = async (id, ops, fn) => {
    const start = performance.now();
    const check = await fn();
    t[id] = { seconds: (performance.now() - start) / 1000, ops, check };
  };
  const h = await peer.open();
  await time('put', puts, async () => {
    if (h.sync) for (let i = 0; i < puts; i++) h.put(keys[i], makeValue(i));
    else for (let i = 0; i < puts; i++) await h.put(keys[i], makeValue(i));
    return 'ok';
  });
  await time('batch', entries - puts, async () => {
    for (let b = puts; b < entries; b += BATCH) {
      const chunk = [];
      for (let i = b; i < Math.min(b + BATCH, entries); i++) chunk.push([keys[i], makeValue(i)]);
      await h.batch(chunk);
    }
    return 'ok';
  });
  await time('get', gets, async () => {
    let bytes = 0;
    if (h.asyncGet) for (let i = 0; i < gets; i++) bytes += (await h.get(keys[getOrder[i]])).length;
    else for (let i = 0; i < gets; i++) bytes += h.get(keys[getOrder[i]]).length;
    return bytes / gets; // every value has VALUE_BYTES
  });
  await time('scan', entries, async () => {
    const { n, bytes } = await h.scan();
    return `${n} entries, ${bytes} bytes`;
  });
  await h.close();
  log(`${peer.name}: ${OPS.map((o) => `${o.id} ${t[o.id].ops} in ${t[o.id].seconds.toFixed(2)} s`).join(', ')}`);
  return t;
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
      const t = await runPeer(peer, d, log);
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
