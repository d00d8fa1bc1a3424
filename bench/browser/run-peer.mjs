// One round of one peer, shared by the benchmark page (bench.mjs) and its OPFS Worker
// (opfs-worker.mjs), so every peer times exactly the same operations.
import * as strata from 'strata-kv';
import { strataKvAdapter } from '../adapters/strata-kv-store.mjs';
import { makeValue, BATCH, SEEKS, SEEK_LENGTH } from '../lib/data.mjs';

const strataKv = strataKvAdapter(strata);
const valueLength = (v) => v.length;

/** Seeks every peer's check covers (slow peers time this many, the others SEEKS). */
export const CHECKED_SEEKS = 1000;

// `ms`: the table shows the time of one operation rather than a rate.
export const OPS = [
  { id: 'put', title: 'put (one at a time)' },
  { id: 'batch', title: `batch (${BATCH.toLocaleString('en-US')} puts)` },
  { id: 'get', title: 'get (hits)' },
  { id: 'getMany', title: `getMany (${BATCH.toLocaleString('en-US')} keys)` },
  { id: 'scan', title: 'scan (all, in order)' },
  { id: 'seek', title: `seek + ${SEEK_LENGTH}` },
  { id: 'reopen', title: 'reopen + 1st get (ms)', ms: true },
];

/**
 * strata-kv's Store (bench/adapters/strata-kv-store.mjs over the bundled package) as a peer:
 * in `dir` (in OPFS) when given, and with `flush` a flush() that ends the put and batch
 * phases, so their times include making the writes durable. With a dir it can be reopened.
 */
export function strataPeer(name, api, { dir, flush = false, afterClose } = {}) {
  const open = () => strataKv.open({ dir });
  return { name, api, flush, afterClose, open, reopen: dir === undefined ? undefined : open };
}

/**
 * One round of one peer on a fresh database: single puts of the first keys, batches of the
 * rest (so the store ends with `entries` keys), gets of keys in random order, the same keys
 * in multi-gets of BATCH, a full scan, SEEKS seeks of SEEK_LENGTH entries from random keys,
 * and for a persistent peer (`reopen`) close, open again and read one key.
 * `peer.open()` gives an adapter handle (bench/adapters/common.mjs): sync puts where it has
 * them, else awaited putAsync. A peer with `flush` flushes after the put and batch phases;
 * with `asyncGet` its gets are awaited (getAsync); `timed` caps what a slow peer is timed
 * over: { put, get (also the multi-get keys), seek (at least CHECKED_SEEKS) }; rates stay per
 * operation. `afterClose` runs
 * after the last close. Returns seconds, operation counts and checks per op (ops 0: not
 * measured); every peer must agree on the checks.
 */
export async function runPeer(peer, d, log) {
  const { keys, getOrder, seekKeys, entries } = d;
  const cap = peer.timed ?? {};
  const puts = Math.min(cap.put ?? Infinity, entries >> 1);
  const gets = Math.min(cap.get ?? Infinity, entries);
  const seeks = Math.max(CHECKED_SEEKS, Math.min(cap.seek ?? SEEKS, SEEKS));
  const t = {};
  const time = async (id, ops, fn) => {
    const start = performance.now();
    const check = await fn();
    t[id] = { seconds: (performance.now() - start) / 1000, ops, check };
  };
  let h = await peer.open();
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
  // The multi-get's key lists are made before timing: a caller has them already.
  const lists = [];
  for (let b = 0; b < gets; b += BATCH) {
    const list = [];
    for (let i = b; i < Math.min(b + BATCH, gets); i++) list.push(keys[getOrder[i]]);
    lists.push(list);
  }
  await time('getMany', gets, async () => {
    let bytes = 0;
    for (const list of lists) {
      const values = await h.getMany(list);
      for (let i = 0; i < values.length; i++) bytes += values[i].length;
    }
    return bytes / gets;
  });
  await time('scan', entries, async () => {
    const { n, sum } = await h.scan(valueLength);
    return `${n} entries, ${sum} bytes`;
  });
  await time('seek', seeks, async () => {
    let n = 0, bytes = 0, check = '';
    for (let i = 0; i < seeks; i++) {
      const r = h.asyncSeek ? await h.seek(seekKeys[i], SEEK_LENGTH) : h.seek(seekKeys[i], SEEK_LENGTH);
      n += r.n;
      bytes += r.bytes;
      if (i === CHECKED_SEEKS - 1) check = `${n} entries, ${bytes} bytes in the first ${CHECKED_SEEKS} seeks`;
    }
    return check;
  });
  if (peer.reopen) {
    // Close, open again and read a value back: what a page reload costs the store.
    let parts = '';
    await time('reopen', 1, async () => {
      const t0 = performance.now();
      await h.close();
      const t1 = performance.now();
      h = await peer.reopen();
      const t2 = performance.now();
      const k = keys[getOrder[0]];
      const length = (peer.asyncGet ? await h.getAsync(k) : h.get(k)).length;
      parts = ` (close ${(t1 - t0).toFixed(1)} ms, open ${(t2 - t1).toFixed(1)} ms, get ${(performance.now() - t2).toFixed(1)} ms)`;
      return length;
    });
    t.reopen.parts = parts;
    await h.close();
  } else {
    await h.close();
    t.reopen = { seconds: 0, ops: 0, check: undefined };
  }
  await peer.afterClose?.();
  log(`${peer.name}: ${OPS.filter((o) => t[o.id].ops > 0).map((o) => `${o.id} ${t[o.id].ops} in ${t[o.id].seconds.toFixed(3)} s${t[o.id].parts ?? ''}`).join(', ')}`);
  return t;
}
