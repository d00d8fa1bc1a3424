// One round of one peer, shared by the benchmark page (bench.mjs) and its OPFS Worker
// (opfs-worker.mjs), so both time exactly the same operations.
import * as strata from 'strata-kv';
import { strataKvAdapter } from '../adapters/strata-kv-store.mjs';
import { makeValue, BATCH } from '../lib/data.mjs';

const strataKv = strataKvAdapter(strata);
const valueLength = (v) => v.length;

export const OPS = [
  { id: 'put', title: 'put (one at a time)' },
  { id: 'batch', title: `batch (${BATCH.toLocaleString('en-US')} puts)` },
  { id: 'get', title: 'get (hits)' },
  { id: 'scan', title: 'scan (all, in order)' },
];

/**
 * strata-kv's Store (bench/adapters/strata-kv-store.mjs over the bundled package) as a peer:
 * in `dir` (in OPFS) when given, and with `flush` a flush() that ends the put and batch
 * phases, so their times include making the writes durable.
 */
export function strataPeer(name, api, { dir, flush = false, afterClose } = {}) {
  return { name, api, flush, afterClose, open: () => strataKv.open({ dir }) };
}

/**
 * One round of one peer on a fresh database: single puts of the first keys, batches of the
 * rest (so the store ends with `entries` keys), gets of keys in random order, then a full
 * scan. `peer.open()` gives an adapter handle (bench/adapters/common.mjs): sync puts where
 * it has them, else awaited putAsync. A peer with `flush` flushes after the put and batch
 * phases; with `asyncGet` its gets are awaited (getAsync); with `timedOps` (IndexedDB: about
 * a thousand transactions a second here) it is timed over that many puts and gets instead of
 * all; rates stay per operation. `afterClose` runs after the handle's close. Returns seconds
 * and operation counts per op, and checks every peer must agree on.
 */
export async function runPeer(peer, d, log) {
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
    if (h.put) for (let i = 0; i < puts; i++) h.put(keys[i], makeValue(i));
    else for (let i = 0; i < puts; i++) await h.putAsync(keys[i], makeValue(i));
    if (peer.flush) await h.flush();
    return 'ok';
  });
  await time('batch', entries - puts, async () => {
    for (let b = puts; b < entries; b += BATCH) {
      const chunk = [];
      for (let i = b; i < Math.min(b + BATCH, entries); i++) chunk.push([keys[i], makeValue(i)]);
      await h.putAll(chunk);
    }
    if (peer.flush) await h.flush();
    return 'ok';
  });
  await time('get', gets, async () => {
    let bytes = 0;
    if (peer.asyncGet) for (let i = 0; i < gets; i++) bytes += (await h.getAsync(keys[getOrder[i]])).length;
    else for (let i = 0; i < gets; i++) bytes += h.get(keys[getOrder[i]]).length;
    return bytes / gets; // every value has VALUE_BYTES
  });
  await time('scan', entries, async () => {
    const { n, sum } = await h.scan(valueLength);
    return `${n} entries, ${sum} bytes`;
  });
  await h.close();
  await peer.afterClose?.();
  log(`${peer.name}: ${OPS.map((o) => `${o.id} ${t[o.id].ops} in ${t[o.id].seconds.toFixed(2)} s`).join(', ')}`);
  return t;
}

