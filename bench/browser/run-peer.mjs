// One round of one peer, shared by the benchmark page (bench.mjs) and its OPFS Worker
// (opfs-worker.mjs), so both time exactly the same operations.
import { Store, codecs } from 'strata-kv';
import { makeValue, BATCH } from '../lib/data.mjs';

export const OPS = [
  { id: 'put', title: 'put (one at a time)' },
  { id: 'batch', title: `batch (${BATCH.toLocaleString('en-US')} puts)` },
  { id: 'get', title: 'get (hits)' },
  { id: 'scan', title: 'scan (all, in order)' },
];

/**
 * strata-kv's Store as a peer: `storeOptions` (a path: in OPFS) and, with `settle`, a flush()
 * that ends the put and batch phases, so their times include making the writes durable.
 */
export function strataPeer(name, api, { storeOptions = {}, settle = false, afterClose = async () => {} } = {}) {
  return {
    name,
    api,
    async open() {
      const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, ...storeOptions });
      return {
        sync: true,
        put: (k, v) => s.put(k, v),
        batch: (entries) => s.putAll(entries),
        settle: settle ? () => s.flush() : undefined,
        get: (k) => s.get(k),
        scan() {
          let n = 0, sum = 0;
          for (const [, v] of s.all()) { n++; sum += v.length; }
          return { n, sum };
        },
        close: async () => { await s.close(); await afterClose(); },
      };
    },
  };
}

/**
 * One round of one peer on a fresh database: single puts of the first keys, batches of the
 * rest (so the store ends with `entries` keys), gets of keys in random order, then a full
 * scan. A peer with `timedOps` (IndexedDB: about a thousand transactions a second here) is
 * timed over that many puts and gets instead of all; rates stay per operation. Returns
 * seconds and operation counts per op, and checks every peer must agree on.
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
    if (h.sync) for (let i = 0; i < puts; i++) h.put(keys[i], makeValue(i));
    else for (let i = 0; i < puts; i++) await h.put(keys[i], makeValue(i));
    await h.settle?.();
    return 'ok';
  });
  await time('batch', entries - puts, async () => {
    for (let b = puts; b < entries; b += BATCH) {
      const chunk = [];
      for (let i = b; i < Math.min(b + BATCH, entries); i++) chunk.push([keys[i], makeValue(i)]);
      await h.batch(chunk);
    }
    await h.settle?.();
    return 'ok';
  });
  await time('get', gets, async () => {
    let bytes = 0;
    if (h.asyncGet) for (let i = 0; i < gets; i++) bytes += (await h.get(keys[getOrder[i]])).length;
    else for (let i = 0; i < gets; i++) bytes += h.get(keys[getOrder[i]]).length;
    return bytes / gets; // every value has VALUE_BYTES
  });
  await time('scan', entries, async () => {
    const { n, sum } = await h.scan();
    return `${n} entries, ${sum} bytes`;
  });
  await h.close();
  log(`${peer.name}: ${OPS.map((o) => `${o.id} ${t[o.id].ops} in ${t[o.id].seconds.toFixed(2)} s`).join(', ')}`);
  return t;
}

