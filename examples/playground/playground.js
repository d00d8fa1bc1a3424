// The playground's code: one in-memory Store on the page's main thread, and a view of its
// stats() redrawn after every action, so each write, flush and compaction shows up in the
// memtable bar and the levels table; and a store shared by every tab (shared-panel.js). Plain ES modules; 'strata-kv' comes from the import map.
import { Store, codecs, StrataError } from 'strata-kv';
import { openSharedPanel } from './shared-panel.js';

// Passed explicitly so the targets shown are the ones the engine uses (docs/API.md).
const LEVEL0_TRIGGER = 4;
const LEVEL_MULTIPLIER = 10;
const STEPS = 20; // a large write is drawn in up to this many frames, so the tree is seen filling

const $ = (id) => document.getElementById(id);
let store;
let memtableBytes;
let nextKey = 0;

const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const fmtNum = (n) => n.toLocaleString('en-US');
const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

function log(message, kind = 'info') {
  const item = el('li', { className: kind }, `${new Date().toLocaleTimeString()}  ${message}`);
  $('log').prepend(item);
  while ($('log').children.length > 50) $('log').lastChild.remove();
}

async function openStore(bytes) {
  if (store) await store.close();
  memtableBytes = bytes;
  nextKey = 0;
  store = await Store.open({
    keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: bytes,
    level0CompactionTrigger: LEVEL0_TRIGGER, levelBaseBytes: 4 * bytes, levelSizeMultiplier: LEVEL_MULTIPLIER,
  });
  log(`new in-memory store, memtable ${fmtBytes(bytes)}`);
  render();
}

function levelTarget(level) {
  if (level === 0) return `${LEVEL0_TRIGGER} runs`;
  return fmtBytes(4 * memtableBytes * LEVEL_MULTIPLIER ** (level - 1));
}

/** Redraws everything from store.stats(): the view never keeps numbers of its own. */
function render() {
  const st = store.stats();
  $('memtable-entries').textContent = fmtNum(st.memtable.entries);
  $('memtable-bytes').textContent = fmtBytes(st.memtable.bytes);
  $('memtable-limit').textContent = fmtBytes(memtableBytes);
  $('memtable-fill').style.width = `${Math.min(100, (100 * st.memtable.bytes) / memtableBytes)}%`;

  const deepest = Math.max(2, ...st.levels.filter((l) => l.runs > 0).map((l) => l.level));
  const rows = st.levels.filter((l) => l.level <= deepest).map((l) => {
    const runs = el('td', { className: 'runs-drawing' });
    // One box per run, as wide as its share of the level's bytes against the level's target.
    const target = l.level === 0 ? LEVEL0_TRIGGER * memtableBytes : 4 * memtableBytes * LEVEL_MULTIPLIER ** (l.level - 1);
    for (let i = 0; i < l.runs; i++) {
      const share = l.bytes / l.runs / target;
      runs.append(el('span', { className: 'run', title: `≈ ${fmtBytes(Math.round(l.bytes / l.runs))}` }));
      runs.lastChild.style.width = `${Math.max(4, Math.min(300, share * 300))}px`;
    }
    const tr = el('tr', { className: l.runs ? 'busy' : '' },
      el('td', {}, `L${l.level}`), el('td', { className: 'level-runs' }, fmtNum(l.runs)),
      el('td', { className: 'level-entries' }, fmtNum(l.entries)), el('td', { className: 'level-bytes' }, fmtBytes(l.bytes)),
      el('td', {}, levelTarget(l.level)), runs);
    tr.dataset.level = String(l.level);
    return tr;
  });
  $('levels').tBodies[0].replaceChildren(...rows);

  const c = st.counters;
  const totals = [
    ['sequence', fmtNum(st.sequence)], ['puts', fmtNum(c.puts)], ['deletes', fmtNum(c.deletes)],
    ['flushes', fmtNum(c.flushes)], ['compactions', fmtNum(c.compactions)], ['runs', fmtNum(st.runs)],
    ['run bytes', fmtBytes(st.runBytes)], ['write amplification', st.writeAmplification.toFixed(2)],
    ['space amplification', st.spaceAmplification.toFixed(2)], ['engine bytes', fmtBytes(st.engineBytes)],
    ['Wasm memory', fmtBytes(st.memoryBytes)],
  ];
  $('totals').replaceChildren(...totals.flatMap(([name, value]) => [
    el('dt', {}, name), el('dd', { id: `stat-${name.replace(/ /g, '-')}` }, value),
  ]));
}

const randomValue = (n) => {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < n; i++) s += a[(Math.random() * a.length) | 0];
  return s;
};
const keyOf = (i) => `k${String(i).padStart(6, '0')}`;

async function writeMany() {
  const count = Math.max(1, Math.min(1_000_000, Number($('count').value) | 0));
  const valueBytes = Math.max(0, Math.min(65_536, Number($('value-bytes').value) | 0));
  const random = document.querySelector('input[name=mode]:checked').value === 'random';
  const before = store.stats().counters;
  const start = performance.now();
  const step = Math.ceil(count / STEPS);
  for (let done = 0; done < count; done += step) {
    for (let i = done; i < Math.min(count, done + step); i++) {
      store.put(random ? keyOf((Math.random() * 1e6) | 0) : keyOf(nextKey++), randomValue(valueBytes));
    }
    render();
    await frame();
  }
  const after = store.stats().counters;
  log(`wrote ${fmtNum(count)} ${random ? 'random' : 'sequential'} keys in ${(performance.now() - start).toFixed(0)} ms: `
    + `${after.flushes - before.flushes} flushes, ${after.compactions - before.compactions} compactions`);
}

function runQuery() {
  const from = $('from').value, to = $('to').value;
  const limit = Math.max(1, Number($('limit').value) | 0);
  const start = performance.now();
  const rows = [];
  for (const [key, value] of store.range(from, to, { limit, reverse: $('reverse').checked })) {
    rows.push(el('tr', {}, el('td', {}, key), el('td', { title: value }, value.length > 48 ? `${value.slice(0, 48)}…` : value),
      el('td', {}, fmtNum(store.getVersioned(key).version))));
  }
  const ms = (performance.now() - start).toFixed(2);
  $('results').tBodies[0].replaceChildren(...rows);
  $('result-count').textContent = `${fmtNum(rows.length)} ${rows.length === 1 ? 'entry' : 'entries'} in [${from}, ${to}) (${ms} ms)`;
}

/** Runs an action; a StrataError goes to the log with its code instead of the console. */
function action(fn) {
  return () => {
    playground.last = (async () => {
      try {
        await fn();
      } catch (err) {
        log(err instanceof StrataError ? `${err.code}: ${err.message}` : String(err), 'error');
      }
      render();
    })();
    return playground.last;
  };
}

const playground = {
  get store() { return store; },
  /** The promise of the last action: tests await it after a click. */
  last: Promise.resolve(),
  render,
};
window.playground = playground;

$('write').addEventListener('click', action(writeMany));
$('put').addEventListener('click', action(() => {
  store.put($('key').value, $('value').value);
  log(`put ${JSON.stringify($('key').value)} → version ${fmtNum(store.getVersioned($('key').value).version)}`);
}));
$('delete').addEventListener('click', action(() => {
  store.delete($('key').value);
  log(`deleted ${JSON.stringify($('key').value)}`);
}));
$('get').addEventListener('click', action(() => {
  const v = store.getVersioned($('key').value);
  $('get-result').textContent = v ? `${JSON.stringify(v.value)} (version ${fmtNum(v.version)})` : '(absent)';
}));
$('flush').addEventListener('click', action(async () => {
  await store.flush();
  log('flushed the memtable into a level-0 run');
}));
$('compact').addEventListener('click', action(async () => {
  const start = performance.now();
  await store.compact();
  log(`compacted in ${(performance.now() - start).toFixed(1)} ms`);
}));
$('reset').addEventListener('click', action(() => openStore(Number($('memtable-size').value))));
$('query').addEventListener('click', action(runQuery));
for (const id of ['from', 'to', 'limit']) $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter') $('query').click(); });

await openStore(Number($('memtable-size').value));
// The shared panel needs OPFS, Web Locks and BroadcastChannel; without them it says why.
playground.shared = await openSharedPanel(log).catch((err) => {
  $('shared-owner').textContent = `unavailable here: ${err?.message ?? err}`;
  return undefined;
});
playground.ready = true;
