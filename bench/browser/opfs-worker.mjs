// The OPFS columns of the browser benchmark (bench.mjs): one round of one peer in a dedicated
// Worker, where OPFS sync access handles exist, on fresh OPFS files removed afterwards:
// strata-kv (OPFS), SQLite-Wasm on the "opfs-sahpool" VFS and on the "opfs" VFS
// (sqlite-peer.mjs). Bundled by run.mjs into build/opfs-worker.js; gets { peer, entries, timed },
// posts { times }.
import { makeData } from '../lib/data.mjs';
import { runPeer, strataPeer } from './run-peer.mjs';
import { sqlitePeer } from './sqlite-peer.mjs';

/** The Worker peers by name, each made fresh for a round (`tag` names its files). */
export const WORKER_PEERS = {
  'strata-kv (OPFS)': async (tag) => {
    const path = `strata-bench-${tag}`;
    const root = await navigator.storage.getDirectory();
    return strataPeer('strata-kv (OPFS)', {}, {
      dir: path,
      flush: true,
      afterClose: () => root.removeEntry(path, { recursive: true }),
    });
  },
  'SQLite (opfs-sahpool)': (tag) => sqlitePeer('SQLite (opfs-sahpool)', 'opfs-sahpool', tag),
  'SQLite (opfs)': (tag) => sqlitePeer('SQLite (opfs)', 'opfs', tag),
};

let rounds = 0;
self.onmessage = async ({ data: { peer: name, entries, timed } }) => {
  try {
    const peer = await WORKER_PEERS[name](`${Date.now()}-${rounds++}`);
    peer.timed = timed;
    const times = await runPeer(peer, makeData(entries), (line) => postMessage({ log: line }));
    postMessage({ times });
  } catch (err) {
    postMessage({ error: String(err?.stack ?? err) });
  }
};
