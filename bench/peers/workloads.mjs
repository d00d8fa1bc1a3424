// The peer-comparison workloads, run identically against every adapter (adapters/*.mjs).
//
// Data: `entries` keys, each a 16-character lowercase hex string (stored with a utf8 key
// encoding), and 100-byte Uint8Array values allocated at write time. Key i is
// hex8(fmix32(i ^ SEED_HI)) + hex8(fmix32(i + SEED_LO)); fmix32 is a bijection on 32 bits,
// so keys 0…2^32-1 are distinct, and keys i ≥ entries are the "missing" ones. Key order is
// unrelated to i, so writing i = 0, 1, 2, … is writing in random key order; reads walk a
// seeded Fisher–Yates permutation. Every peer sees the same keys in the same order.
//
// Adapter contract (each adapters/<peer>.mjs default-exports one of these):
//   name, ordered (false: point operations only), api: { <workload>: 'which API' }
//   open() → Promise<handle>, where handle has
//     put?(key, value)              sync single put; absent → writes go through putAll
//     putAll(entries)               entries: [key, value][] (1,000 of them); may return a Promise
//     get(key) → value | undefined  sync
//     scan() → { n, bytes }         full ordered scan; may return a Promise
//     seek(key, n) → { n, bytes }   the first n entries with key ≥ `key`; may return a Promise
//     asyncWrites, asyncSeek        true when putAll / seek return Promises
//     close() → Promise
// `bytes` sums value lengths, so every entry's value is really read.

export const SEED_HI = 0x5eed1234;
export const SEED_LO = 0x0badcafe;
export const SEED_ORDER = 20240611;
export const BATCH = 1000;
export const SEEKS = 10_000;
export const SEEK_LENGTH = 100;
export const VALUE_BYTES = 100;

/** murmur3's 32-bit finalizer: a bijection on uint32. */
function fmix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const hex8 = (n) => n.toString(16).padStart(8, '0');

/** Key i: 16 hex characters; distinct for distinct i. */
export function keyOf(i) {
  return hex8(fmix32((i ^ SEED_HI) >>> 0)) + hex8(fmix32((i + SEED_LO) >>> 0));
}

/** A fresh 100-byte value for key i (allocated on every call: "made at write time"). */
export function makeValue(i, salt = 0) {
  const v = new Uint8Array(VALUE_BYTES);
  v[0] = i; v[1] = i >>> 8; v[2] = i >>> 16; v[3] = salt;
  v[VALUE_BYTES - 1] = 0xa5;
  return v;
}

/** mulberry32: a small seeded PRNG giving uint32s. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function permutation(n, rand) {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rand() % (i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** Everything the workloads read, made before any timing starts. */
export function makeData(entries) {
  const rand = prng(SEED_ORDER);
  const keys = new Array(entries);
  for (let i = 0; i < entries; i++) keys[i] = keyOf(i);
  const missing = new Array(entries);
  for (let i = 0; i < entries; i++) missing[i] = keyOf(entries + i);
  const getOrder = permutation(entries, rand);
  const seekKeys = new Array(SEEKS);
  for (let i = 0; i < SEEKS; i++) seekKeys[i] = keys[rand() % entries];
  // Mix: op i reads (even code) or overwrites (odd code) key mixKey[i].
  const mixKey = new Int32Array(entries);
  const mixPut = new Uint8Array(entries);
  for (let i = 0; i < entries; i++) { mixKey[i] = rand() % entries; mixPut[i] = rand() & 1; }
  return { entries, keys, missing, getOrder, seekKeys, mixKey, mixPut };
}

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
    async run(h, d) {
      const r = await h.scan();
      return { ops: r.n, check: `${r.n}/${r.bytes}` };
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
