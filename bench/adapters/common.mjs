// The peers every suite measures, one adapter each (bench/adapters/<peer>.mjs), and what
// they share. An adapter default-exports:
//   name, ordered (false: point operations only), syncPut (false: no sync single put),
//   build (strata-kv: which build of dist/ it loaded), options (how open({ dir }) opens it),
//   api: { 'fill-put', 'fill-putAll', get, 'get-missing', scan, seek, mix, close: 'which API' }
//     (each suite prints the operations it runs)
//   durable?: { options, put }  how open({ dir, sync: true }) opens it and how its durablePut
//     writes (bench:disk's durable-put phase); absent → the peer has no durable single put
//   open({ dir, sync }?) → Promise<handle>: in `dir`, an existing directory it keeps (bench:disk);
//     without one, in memory, or for a file-based peer in a temporary directory removed by
//     close() (bench:peers). `sync: true` (peers with `durable`, with a `dir`) opens it so
//     that the handle's durablePut is durable when it returns (or its Promise resolves): on
//     disk, fsynced, surviving a machine crash; everything else works as without it.
//     The handle has
//     put?(key, value)              sync single put; absent → writes go through putAll
//     durablePut?(key, value)       (only opened with sync: true) one put, durable on return;
//                                   may return a Promise, durable once it resolves
//     putAll(entries)               entries: [key, value][] (1,000 of them); may return a Promise
//     asyncWrites, asyncSeek        true when putAll / seek return Promises
//     get(key) → value | undefined  sync
//     getMany?(keys) → values       one multi-get of 1,000 keys (bench:browser); may return a Promise
//     scan(weigh) → { n, sum }      full ordered scan, sum = Σ weigh(value), so every value is
//                                   really read; may return a Promise
//     seek?(key, n) → { n, bytes }  the first n entries with key ≥ `key` (ordered peers)
//     putAsync?, getAsync?          abstract-level's awaited put and get (bench:browser)
//     stats?(), flush?()            strata-kv's store.stats() and store.flush()
//     close() → Promise             the peer's own close
// strata-kv.mjs (the Node entry) and strata-kv-store.mjs (the adapter over a given package,
// which bench:browser bundles) are one peer; strata-kv-slices.mjs is the same build opened
// with `background: false` (a variant, compared with strata-kv like any peer);
// level-iterate.mjs is shared by the Level peers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The adapter of `peer` (a file name in bench/adapters/). */
export async function loadAdapter(peer) {
  return (await import(`./${peer}.mjs`)).default;
}

/** `dir` when given (kept); otherwise a fresh temporary directory `remove()` deletes. */
export function storeDir(dir, prefix) {
  if (dir !== undefined) return { path: dir, remove() {} };
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
