// npm run bench:browser — strata-kv in headless Chromium against memory-level and
// browser-level (IndexedDB): bundles bench.mjs with the built package (dist/: run
// `npm run build` first), serves index.html on 127.0.0.1, runs the page's runBench, prints
// one table of medians (ops/s, and strata-kv's speed over each peer) and writes
// docs/bench-browser.json.
//
//   node bench/browser/run.mjs [--entries 100000] [--rounds 3] [--no-save] [--out DIR]
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../lib/args.mjs';
import { root, median } from '../lib/dist.mjs';
import { compact, peerHeads, peerCell, medianOfRounds, headed } from '../lib/table.mjs';
import { bundleForBrowser } from '../../scripts/browser-bundle.mjs';
import { ensureChromium, launchChromium, openPage } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const opts = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 100_000, min: 1000 },
  rounds: { type: 'int', default: 3, min: 1 },
  save: { type: 'no' },
  out: { type: 'string', default: join(root, 'docs') },
}, { usage: 'node bench/browser/run.mjs [--entries N] [--rounds R] [--no-save] [--out DIR]' });

function formatTable(report) {
  const { meta, ops, peers } = report;
  const [subject, ...others] = peers;
  const W = 20;
  const head = ['op'.padEnd(24), subject.name.padStart(10), ...peerHeads(others, W)].join('');
  const lines = [
    `strata-kv in ${meta.browser}: ${meta.entries.toLocaleString('en-US')} entries (16-char keys, ${meta.valueBytes}-byte values), `
      + `page main thread (OPFS: a dedicated Worker), ${medianOfRounds(meta.rounds)}; ${meta.platform}, ${meta.cpus} CPUs`,
    'ops/s; each peer cell: its rate, then strata-kv ÷ peer (above 1×: strata-kv is faster); — : not measured',
    '',
    ...headed(head),
  ];
  for (const op of ops) {
    const s = subject.opsPerSec[op.id];
    const cells = others.map((p) => peerCell(p.opsPerSec?.[op.id], s, { width: W, valueWidth: 9 }));
    lines.push([op.title.padEnd(24), compact(s).padStart(10), ...cells].join(''));
  }
  lines.push('─'.repeat(head.length));
  lines.push(`put: single puts of the first half of the keys; batch: the rest; get: keys in random order; scan: all ${meta.entries.toLocaleString('en-US')}`);
  for (const p of peers) {
    if (p.pending) lines.push(`${p.name}: ${p.pending}`);
    else if (p.timedOps.get < meta.entries) lines.push(`${p.name}: put and get timed over ${p.timedOps.get.toLocaleString('en-US')} operations each (too slow for all)`);
  }
  return lines.join('\n');
}

if (!existsSync(join(root, 'dist/browser.js'))) throw new Error('dist/browser.js is missing: run `npm run build` first');
const { bin, reason } = ensureChromium();
if (!bin) throw new Error(`Chromium unavailable: ${reason}`);

await bundleForBrowser({ entry: join(here, 'bench.mjs'), outfile: join(here, 'build/bench.js'), minify: true });
await bundleForBrowser({ entry: join(here, 'opfs-worker.mjs'), outfile: join(here, 'build/opfs-worker.js'), minify: true });
const server = await startStaticServer({ '/': here });
const browser = await launchChromium(bin);
let raw;
try {
  const page = await openPage(browser, `${server.url}index.html`);
  page.on('console', (msg) => { if (msg.type() === 'log') console.error(`  ${msg.text()}`); });
  await page.waitForFunction(() => window.benchReady === true, undefined, { timeout: 30_000 });
  raw = await page.evaluate((o) => window.runBench(o), { entries: opts.entries, rounds: opts.rounds });
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
    ? { name: p.name, pending: p.pending, opsPerSec: null }
    : {
        name: p.name, api: p.api,
        opsPerSec: Object.fromEntries(raw.ops.map((o) => [o.id, p.ops[o.id] / median(p.seconds[o.id])])),
        timedOps: p.ops,
        seconds: p.seconds,
      })),
};
// strata-kv ÷ peer per op, the figure the table prints after each rate.
for (const p of report.peers.slice(1)) {
  if (p.opsPerSec) p.strataSpeedup = Object.fromEntries(raw.ops.map((o) => [o.id, report.peers[0].opsPerSec[o.id] / p.opsPerSec[o.id]]));
}

console.log(formatTable(report));
if (opts.save) {
  const jsonPath = join(opts.out, 'bench-browser.json');
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${relative(process.cwd(), jsonPath)}`);
}
