// The "strata-kv (OPFS)" column of the browser benchmark (bench.mjs): one round in a dedicated
// Worker, where OPFS sync access handles exist, on a fresh OPFS directory removed afterwards.
// Bundled by run.mjs into build/opfs-worker.js; gets { entries }, posts { times }.
import { makeData } from '../lib/data.mjs';
import { runPeer, strataPeer } from './run-peer.mjs';

let rounds = 0;
self.onmessage = async ({ data: { entries } }) => {
  const path = `strata-bench-${Date.now()}-${rounds++}`;
  const root = await navigator.storage.getDirectory();
  const peer = strataPeer('strata-kv (OPFS)', {}, {
    dir: path,
    flush: true,
    afterClose: () => root.removeEntry(path, { recursive: true }),
  });
  try {
    const times = await runPeer(peer, makeData(entries), (line) => postMessage({ log: line }));
    postMessage({ times });
  } catch (err) {
    postMessage({ error: String(err?.stack ?? err) });
  }
};
