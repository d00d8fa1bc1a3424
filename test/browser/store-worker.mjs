// A module Worker using the built browser entry (test/browser.test.ts): where OPFS
// persistence will run, since sync access handles exist only in dedicated Workers.
import { Store, codecs } from '/dist/browser.js';

const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 16 << 10 });
for (let i = 0; i < 5000; i++) s.put(`k${String(i).padStart(4, '0')}`, `v${i}`);
await s.flush();
const st = s.stats();
postMessage({
  get: s.get('k2500'),
  range: [...s.range('k0100', 'k0200', { limit: 3 })],
  sequence: st.sequence,
  runs: st.runs,
  opfsAvailable: typeof navigator.storage?.getDirectory === 'function',
});
await s.close();
