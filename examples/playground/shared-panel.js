// The playground's "every tab" panel: one store in the Origin Private File System shared by
// every tab that opens this page (SharedStore, docs/API.md "Several tabs"), kept larger than
// its owner's memory with a small block cache. The view redraws every second from the
// owner's stats() and a reverse range, so a write made in another tab shows up here.
import { SharedStore, codecs } from 'strata-kv';

const $ = (id) => document.getElementById(id);
const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const fmtNum = (n) => n.toLocaleString('en-US');
/** Values of the fill: 1 KiB each, so a fill of FILL_MIB MiB is FILL_MIB * 1024 puts. */
const FILL_MIB = 16;
const VALUE = 'x'.repeat(1024);

/** Opens the shared store and wires the panel; `log(message, kind)` is the page's log. */
export async function openSharedPanel(log) {
  const store = await SharedStore.open({
    path: 'playground-shared', keyCodec: codecs.utf8, valueCodec: codecs.utf8,
    memtableBytes: 1 << 20, blockCacheBytes: 4 << 20,
  });
  const ownerText = (owner) => (owner ? 'this tab owns the store (its Worker has the OPFS files open)' : 'another tab owns the store; this one forwards its calls');
  $('shared-owner').textContent = ownerText(store.isOwner);
  store.onOwnerChange((owner) => {
    $('shared-owner').textContent = ownerText(owner);
    log(owner ? 'this tab took over the shared store' : 'another tab owns the shared store now');
  });

  async function refresh() {
    const st = await store.stats();
    const entries = st.memtable.entries + st.levels.reduce((n, l) => n + l.entries, 0);
    $('shared-entries').textContent = fmtNum(entries);
    $('shared-run-bytes').textContent = fmtBytes(st.runBytes);
    $('shared-memory').textContent = fmtBytes(st.memoryBytes);
    $('shared-cache').textContent = `${fmtBytes(st.blockCache.bytes)} of ${fmtBytes(st.blockCache.capacity)}`;
    $('shared-file-runs').textContent = fmtNum(st.fileBackedRuns);
    const rows = [];
    for await (const [k, v] of store.range({ lt: 'tab:\uffff', gte: 'tab:', reverse: true, limit: 8 })) {
      rows.push(Object.assign(document.createElement('li'), { textContent: `${k} = ${v}` }));
    }
    $('shared-recent').replaceChildren(...rows);
  }

  const busy = { running: Promise.resolve() };
  /** Runs `fn` then redraws; the promise is kept for tests (sharedPanel.last). */
  const act = (fn) => () => {
    busy.running = (async () => {
      try { await fn(); } catch (err) { log(err?.code ? `${err.code}: ${err.message}` : String(err), 'error'); }
      await refresh().catch(() => {});
    })();
    return busy.running;
  };

  $('shared-put').addEventListener('click', act(async () => {
    // Keys sort by time, so the newest write from any tab is at the top of the list.
    const key = `tab:${new Date().toISOString()}:${$('shared-key').value}`;
    await store.put(key, $('shared-value').value);
    log(`shared put ${JSON.stringify(key)}`);
  }));
  $('shared-fill').addEventListener('click', act(async () => {
    const start = performance.now();
    const base = Date.now().toString(36);
    for (let i = 0; i < FILL_MIB * 1024; i += 512) {
      const batch = [];
      for (let j = i; j < i + 512; j++) batch.push([`fill:${base}:${String(j).padStart(6, '0')}`, VALUE]);
      await store.putAll(batch);
    }
    await store.flush();
    log(`added ${FILL_MIB} MiB to the shared store in ${(performance.now() - start).toFixed(0)} ms`);
  }));
  const timer = setInterval(() => { refresh().catch(() => {}); }, 1000);
  await refresh();
  return { store, get last() { return busy.running; }, refresh, stop: () => clearInterval(timer) };
}
