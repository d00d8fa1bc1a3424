// npm run bench:browser — strata-kv in headless Chromium against the stores a web page
// picks: in the page, memory-level, browser-level and Dexie (IndexedDB); in a dedicated
// Worker, SQLite-Wasm on OPFS (opfs-sahpool and opfs VFSes) beside strata-kv on OPFS. Bundles
// bench.mjs with the built package (dist/: run `npm run build` first), serves index.html on
// 127.0.0.1 (cross-origin isolated: the "opfs" VFS needs SharedArrayBuffer), runs the page's
// runBench, prints two tables of medians (in memory; persistent), each peer with strata-kv's
// speed over it, and writes docs/bench-browser.json.
//
//   node bench/browser/run.mjs [--entries 100000] [--rounds 3] [--only a,b] [--no-save] [--out DIR]
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, platform, arch } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../lib/args.mjs';
import { SEEKS } from '../lib/data.mjs';
import { root, median } from '../lib/dist.mjs';
import { compact, peerHeads, peerCell, medianOfRounds, headed } from '../lib/table.mjs';
import { bundleForBrowser } from '../../scripts/browser-bundle.mjs';
import { ensureChromium, launchChromium, openPage } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// SQLite-Wasm's jswasm/ folder (sqlite3.mjs, sqlite3.wasm, the opfs VFS's proxy), served as shipped.
const sqliteDir = join(dirname(createRequire(import.meta.url).resolve('@sqlite.org/sqlite-wasm/package.json')), 'sqlite-wasm/jswasm');

const opts = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 100_000, min: 1000 },
  rounds: { type: 'int', default: 3, min: 1 },
  only: { type: 'list', default: undefined },
  save: { type: 'no' },
  out: { type: 'string', default: join(root, 'docs') },
}, { usage: 'node bench/browser/run.mjs [--entries N] [--rounds R] [--only peer,peer] [--no-save] [--out DIR]' });

const W = 20;
/** A cell's figure: ops/s, or for an `ms` op the milliseconds of one. */
const figure = (op, rate) => (rate == null ? null : op.ms ? 1000 / rate : rate);
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** One table: `subject` and the peers whose ratios are taken against it. */
function formatGroup(title, subject, others, ops) {
  const head = ['op'.padEnd(24), subject.name.padStart(18), ...peerHeads(others, W)].join('');
  const lines = [title, ...headed(head)];
  for (const op of ops) {
    if ([subject, ...others].every((p) => p.opsPerSec?.[op.id] == null)) continue;
    const s = subject.opsPerSec?.[op.id];
    const fmt = op.ms ? fmtMs : compact;
    const own = figure(op, s);
    // The ratio stays strata-kv's speed over the peer's: for times, peer time ÷ strata-kv's.
    const cells = others.map((p) => {
      const v = p.opsPerSec?.[op.id];
      if (v == null || s == null) return peerCell(figure(op, v), Number.NaN, { width: W, valueWidth: 9, fmt });
      return peerCell(v, s, { width: W, valueWidth: 9, fmt: (x) => fmt(figure(op, x)) });
    });
    lines.push([op.title.padEnd(24), (own == null ? '—' : fmt(own)).padStart(18), ...cells].join(''));
  }
  lines.push('─'.repeat(head.length));
  return lines;
}

function formatTable(report) {
  const { meta, ops, peers } = report;
  const subjects = peers.filter((p) => peers.some((q) => q.vs === p.name));
  const lines = [
    `strata-kv in ${meta.browser}: ${meta.entries.toLocaleString('en-US')} entries (16-char keys, ${meta.valueBytes}-byte values), `
      + `${medianOfRounds(meta.rounds)}; ${meta.platform}, ${meta.cpus} CPUs`,
    'ops/s (reopen: ms); each peer cell: its figure, then strata-kv ÷ peer in speed (above 1×: strata-kv is faster); — : not measured',
    '',
  ];
  for (const subject of subjects) {
    const others = peers.filter((p) => p.vs === subject.name);
    if (others.length === 0) continue;
    const where = subject.name === 'strata-kv' ? 'in memory, page main thread' : 'persistent: OPFS peers in a dedicated Worker, IndexedDB peers in the page';
    lines.push(...formatGroup(`${where}`, subject, others, ops), '');
  }
  lines.push(`put: single puts of the first half of the keys; batch: the rest; get and getMany: keys in random order; scan: all ${meta.entries.toLocaleString('en-US')}; `
    + `seek: ${SEEKS.toLocaleString('en-US')} seeks from random keys; reopen: close, open, first get`);
  for (const p of peers) {
    if (p.pending) lines.push(`${p.name}: ${p.pending}`);
    else {
      const t = p.timedOps, n = (x) => x.toLocaleString('en-US');
      const capped = [t.put < meta.entries >> 1 && `put over ${n(t.put)}`, t.get < meta.entries && `get and getMany over ${n(t.get)} keys`,
        t.seek < SEEKS && `seek over ${n(t.seek)}`].filter(Boolean);
      if (capped.length) lines.push(`${p.name}: timed ${capped.join(', ')} (too slow for all)`);
    }
  }
  return lines.join('\n');
}

if (!existsSync(join(root, 'dist/browser.js'))) throw new Error('dist/browser.js is missing: run `npm run build` first');
const { bin, reason } = ensureChromium();
if (!bin) throw new Error(`Chromium unavailable: ${reason}`);

await bundleForBrowser({ entry: join(here, 'bench.mjs'), outfile: join(here, 'build/bench.js'), minify: true });
await bundleForBrowser({ entry: join(here, 'opfs-worker.mjs'), outfile: join(here, 'build/opfs-worker.js'), minify: true });
const server = await startStaticServer({ '/': here, '/sqlite-wasm/': sqliteDir });
const browser = await launchChromium(bin);
let raw;
try {
  const page = await openPage(browser, `${server.url}index.html`);
  page.on('console', (msg) => { if (msg.type() === 'log') console.error(`  ${msg.text()}`); });
  await page.waitForFunction(() => window.benchReady === true, undefined, { timeout: 30_000 });
  raw = await page.evaluate((o) => window.runBench(o), { entries: opts.entries, rounds: opts.rounds, only: opts.only });
  if (page.errors.length) throw page.errors[0];
  raw.browser = `Chromium ${browser.version()}`;
} finally {
  await browser.close();
  await server.close();
}

const report = {
  meta: {
    date: new Date().toISOString(), browser: raw.browser, userAgent: raw.userAgent, crossOriginIsolated: raw.crossOriginIsolated,
    entries: raw.entries, rounds: raw.rounds, valueBytes: raw.valueBytes, batch: raw.batch,
    node: process.version, platform: `${platform()} ${arch()}`, cpus: cpus().length,
  },
  ops: raw.ops,
  peers: raw.peers.map((p) => (p.pending
    ? { name: p.name, vs: p.vs, pending: p.pending, opsPerSec: null }
    : {
        name: p.name, api: p.api, vs: p.vs,
        // null: not measured (reopen of an in-memory store).
        opsPerSec: Object.fromEntries(raw.ops.map((o) => [o.id, p.ops[o.id] > 0 ? p.ops[o.id] / median(p.seconds[o.id]) : null])),
        timedOps: p.ops,
        seconds: p.seconds,
      })),
};
// strata-kv ÷ peer per op (against the peer's `vs` column), the figure the table prints after each rate.
for (const p of report.peers) {
  const subject = report.peers.find((s) => s.name === p.vs);
  if (!p.opsPerSec || !subject?.opsPerSec) continue;
  p.strataSpeedup = Object.fromEntries(raw.ops.map((o) => {
    const r = subject.opsPerSec[o.id] / p.opsPerSec[o.id];
    return [o.id, Number.isFinite(r) ? r : null];
  }));
}

console.log(formatTable(report));
if (opts.save) {
  const jsonPath = join(opts.out, 'bench-browser.json');
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${relative(process.cwd(), jsonPath)}`);
}
