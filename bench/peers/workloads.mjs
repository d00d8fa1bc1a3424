// The peer-comparison workloads, run identically against every adapter (bench/adapters/:
// common.mjs has the contract; in memory, or file-based peers in a temporary directory).
//
// Data: lib/data.mjs (16-character hex keys stored with a utf8 key encoding, in random key
// order; 100-byte Uint8Array values allocated at write time; reads walk a seeded Fisher–Yates
// permutation). Every peer sees the same keys in the same order.
// Scans and seeks sum value lengths, so every entry's value is really read.
import { BATCH, SEEKS, SEEK_LENGTH, makeValue } from '../lib/data.mjs';

const valueLength = (v) => v.length;

async function putBatched(h, keys, from, to, salt) {
  for (let b = from; b < to; b += BATCH) {
    const end = Math.min(b + BATCH, to);
    const chunk = new Array(end - b);
    for (let i = b; i < end; i++) chunk[i - b] = [keys[i], makeValue(i, salt)];
    if (h.asyncWrites) await h.putAll(chunk); else h.putAll(chunk);
  }
}

/**
 * The workloads in the order one round runs them. `run(h, d)` returns
 * { ops, check }: ops is the unit of the reported rate, check must agree across peers.
 * fill-put and fill-putAll need an empty store; the others read the store fill-put made,
 * and mix (which overwrites) comes last.
 */
export const WORKLOADS = [
  {
    id: 'fill-put', title: 'fill: put', unit: 'puts', fresh: true, point: true,
    async run(h, d) {
      const { keys, entries } = d;
      if (h.put) for (let i = 0; i < entries; i++) h.put(keys[i], makeValue(i));
      else await putBatched(h, keys, 0, entries, 0);
      return { ops: entries, check: entries };
    },
  },
  {
    id: 'get', title: 'get (hits)', unit: 'gets', point: true,
    async run(h, d) {
      const { keys, getOrder, entries } = d;
      let bytes = 0;
      for (let i = 0; i < entries; i++) {
        const v = h.get(keys[getOrder[i]]);
        if (v !== undefined) bytes += v.length;
      }
      return { ops: entries, check: bytes };
    },
  },
  {
    id: 'get-missing', title: 'get (missing)', unit: 'gets', point: true,
    async run(h, d) {
      const { missing, entries } = d;
      let found = 0;
      for (let i = 0; i < entries; i++) if (h.get(missing[i]) !== undefined) found++;
      return { ops: entries, check: found };
    },
  },
  {
    id: 'scan', title: 'full ordered scan', unit: 'entries', point: false,
    async run(h) {
      const r = await h.scan(valueLength);
      return { ops: r.n, check: `${r.n}/${r.sum}` };
    },
  },
  {
    id: 'seek', title: `seek + next ${SEEK_LENGTH}`, unit: 'seeks', point: false,
    async run(h, d) {
      const { seekKeys } = d;
      let n = 0, bytes = 0;
      if (h.asyncSeek) {
        for (let i = 0; i < SEEKS; i++) { const r = await h.seek(seekKeys[i], SEEK_LENGTH); n += r.n; bytes += r.bytes; }
      } else {
        for (let i = 0; i < SEEKS; i++) { const r = h.seek(seekKeys[i], SEEK_LENGTH); n += r.n; bytes += r.bytes; }
      }
      return { ops: SEEKS, check: `${n}/${bytes}` };
    },
  },
  {
    id: 'mix', title: '50/50 get/put', unit: 'ops', point: true,
    async run(h, d) {
      const { keys, mixKey, mixPut, entries } = d;
      let bytes = 0;
      if (h.put) {
        for (let i = 0; i < entries; i++) {
          const k = mixKey[i];
          if (mixPut[i]) h.put(keys[k], makeValue(k, 1));
          else { const v = h.get(keys[k]); if (v !== undefined) bytes += v.length; }
        }
      } else {
        // No sync put: puts queue into batches of BATCH, written when full (a get may
        // not see a put still queued; every key exists, so the check is unchanged).
        let chunk = [];
        for (let i = 0; i < entries; i++) {
          const k = mixKey[i];
          if (mixPut[i]) {
            chunk.push([keys[k], makeValue(k, 1)]);
            if (chunk.length === BATCH) { await h.putAll(chunk); chunk = []; }
          } else { const v = h.get(keys[k]); if (v !== undefined) bytes += v.length; }
        }
        if (chunk.length) await h.putAll(chunk);
      }
      return { ops: entries, check: bytes };
    },
  },
  {
    id: 'fill-putAll', title: `fill: putAll of ${BATCH.toLocaleString('en-US')}`, unit: 'puts', fresh: true, point: true,
    async run(h, d) {
      await putBatched(h, d.keys, 0, d.entries, 0);
      return { ops: d.entries, check: d.entries };
    },
  },
];
