// docs/bench-disk.svg: bench:peers' chart (lib/chart.mjs) with bench:disk's labels. One group
// per rate row of the table, and resident memory per entry of the reopened store after the
// reads. `node bench/disk/svg.mjs` redraws the chart from docs/bench-disk.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderBarChart } from '../lib/chart.mjs';
import { medianOfRounds } from '../lib/table.mjs';
import { RATES } from './report.mjs';

const MiB = 2 ** 20;

export function renderDiskSvg(report) {
  const { meta, peers } = report;
  const dropped = meta.pageCache.dropped === meta.pageCache.dropAttempts ? 'dropped' : 'NOT dropped';
  return renderBarChart({
    meta,
    workloads: RATES.filter((w) => peers.some((p) => p.results[w.id])).map((w) => ({ ...w, title: w.chart })),
    peers: peers.map((p) => ({ name: p.name, results: p.results, memory: { bytesPerEntry: (p.results['rss-reads-mib'].median * MiB) / meta.entries } })),
  }, {
    title: 'strata-kv vs peers on disk: operations per second (median, log scale, higher is better)',
    subtitle: `${meta.entries.toLocaleString('en-US')} entries · 16 B keys in random order · ${meta.valueBytes} B values · ` +
      `${meta.fileSystem.type} · page cache ${dropped} before reopen · ${medianOfRounds(meta.rounds)} · node ${meta.node} · ${meta.cpus} CPUs · ${meta.date.slice(0, 10)}`,
    memoryTitle: 'resident memory per entry, reopened store after the reads (RSS growth after GC ÷ entries; lower is better)',
    notes: [
      'strata-kv: Store.open defaults (compactions on a background worker thread); strata-kv-slices: the same build, ' +
        'background: false (compactions in slices paid by the writes).',
      'strata-kv reads every run file into Wasm memory at open; classic-level, rocksdb: 8 MiB block caches; ' +
        'better-sqlite3: a 16 MiB page cache; lmdb: the map pages it touched.',
      '"durable" fills include close() and an fsync of every file. classic-level has no sync single put. Numbers: docs/bench-disk.json.',
    ],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const docs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');
  const report = JSON.parse(readFileSync(join(docs, 'bench-disk.json'), 'utf8'));
  writeFileSync(join(docs, 'bench-disk.svg'), renderDiskSvg(report));
  console.log('wrote docs/bench-disk.svg');
}
