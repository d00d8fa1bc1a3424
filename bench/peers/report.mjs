// The printed side of bench:peers: the results table, the targets checked against
// the medians, which API each peer used, and the chart's labels.
import { compact, ratio, peerHeads, peerCell, medianOfRounds, runLine, headed, formatCpuRows } from '../lib/table.mjs';

const rate = (peer, id) => peer?.results[id]?.opsPerSec;

/** strata-kv's medians over a peer's: > 1 means strata-kv is faster. */
function speedup(report, peerName, id) {
  const s = rate(report.peers[0], id);
  const p = rate(report.peers.find((x) => x.name === peerName), id);
  return s !== undefined && p !== undefined ? s / p : undefined;
}

export function formatTable(report) {
  const { meta, workloads, peers } = report;
  const [subject, ...others] = peers;
  const W = Math.max(15, ...others.map((p) => p.name.length + 2)); // strata-kv-bg needs 14, better-sqlite3 16
  const head = ['workload'.padEnd(24), 'unit'.padEnd(9), subject.name.padStart(10), ...peerHeads(others, W)].join('');
  const lines = [
    `strata-kv vs peers: ${meta.entries.toLocaleString('en-US')} entries (16-char hex keys, ${meta.valueBytes}-byte values), ` +
      runLine(meta),
    'each peer cell: its rate, then strata-kv ÷ peer (above 1×: strata-kv is faster; for memory: strata-kv uses more)',
    '',
    ...headed(head),
  ];
  for (const w of workloads) {
    const s = rate(subject, w.id);
    const cells = others.map((p) => peerCell(rate(p, w.id), s, { width: W }));
    lines.push([w.title.padEnd(24), `${w.unit}/s`.padEnd(9), compact(s).padStart(10), ...cells].join(''));
  }
  const sm = subject.memory.bytesPerEntry;
  const memCells = others.map((p) => peerCell(p.memory.bytesPerEntry, sm, { width: W, fmt: (m) => m.toFixed(0) }));
  lines.push('─'.repeat(head.length));
  lines.push(['resident memory'.padEnd(24), 'B/entry'.padEnd(9), sm.toFixed(0).padStart(10), ...memCells].join(''));
  return lines.join('\n');
}

/** The acceptance targets, each as strata-kv's ratio against a floor. */
const TARGETS = [
  { workload: 'fill-put', peer: 'Map', min: 1.0, text: 'put ≥ 1.0× Map.set' },
  { workload: 'fill-put', peer: 'lmdb', min: 5, text: 'put ≥ 5× lmdb' },
  { workload: 'fill-put', peer: 'memory-level', min: 10, text: 'put ≥ 10× memory-level' },
  { workload: 'fill-putAll', peer: 'Map', min: 2, text: 'putAll ≥ 2× Map.set (Map fed the same 1,000-pair chunks)' },
  { workload: 'get', peer: 'Map', min: 0.8, text: 'get ≥ 0.8× Map.get' },
  { workload: 'get', peer: 'lmdb', min: 3, text: 'get ≥ 3× lmdb get' },
  { workload: 'get', peer: 'memory-level', min: 5, text: 'get ≥ 5× memory-level getSync' },
  { workload: 'get-missing', peer: 'Map', min: 1, text: 'missing-key get ≥ 1× Map.get' },
  { workload: 'scan', peer: 'sorted-btree', min: 0.25, text: 'full scan ≥ 0.25× sorted-btree' },
  { workload: 'scan', peer: 'memory-level', min: 10, text: 'full scan ≥ 10× memory-level' },
  { workload: 'seek', peer: 'sorted-btree', min: 0.5, text: 'seek + 100 ≥ 0.5× sorted-btree' },
];
const MAX_BYTES_PER_ENTRY = 150;

export function evaluateTargets(peers) {
  const report = { peers };
  const out = [];
  for (const t of TARGETS) {
    const actual = speedup(report, t.peer, t.workload);
    if (actual === undefined) continue;
    out.push({ ...t, actual, met: actual >= t.min, shortfall: actual >= t.min ? 0 : t.min / actual });
  }
  const bpe = peers[0].memory.bytesPerEntry;
  out.push({ workload: 'memory', text: `resident memory ≤ ${MAX_BYTES_PER_ENTRY} B/entry`, max: MAX_BYTES_PER_ENTRY,
    actual: bpe, met: bpe <= MAX_BYTES_PER_ENTRY, shortfall: bpe <= MAX_BYTES_PER_ENTRY ? 0 : bpe / MAX_BYTES_PER_ENTRY });
  return out;
}

export function formatTargets(targets) {
  const met = targets.filter((t) => t.met).length;
  const lines = [`issue targets: ${met} of ${targets.length} met`];
  for (const t of targets) {
    const got = t.workload === 'memory' ? `${t.actual.toFixed(0)} B/entry` : ratio(t.actual);
    const miss = t.met ? '' : `   (missed by ${t.shortfall.toFixed(2)}×)`;
    lines.push(`  ${t.met ? 'met ' : 'MISS'}  ${t.text.padEnd(58)} ${got.padStart(12)}${miss}`);
  }
  return lines.join('\n');
}

export function formatApis(report) {
  const lines = ['APIs used (sync where the peer has it; batches of 1,000 where it has no sync write):'];
  for (const p of report.peers) {
    lines.push(`  ${p.name}`);
    for (const w of report.workloads) {
      if (p.api[w.id]) lines.push(`    ${w.title.padEnd(22)} ${p.api[w.id]}`);
    }
  }
  return lines.join('\n');
}

/** docs/bench-peers.svg's text (lib/chart.mjs draws it). */
export function chartLabels(meta) {
  return {
    title: 'strata-kv vs peers: operations per second (median, log scale, higher is better)',
    subtitle: `${meta.entries.toLocaleString('en-US')} entries · 16-char hex keys (utf8) · ${meta.valueBytes}-byte values · ` +
      `${medianOfRounds(meta.rounds)} · each peer in its own process · node ${meta.node} · ` +
      `${meta.cpus} CPUs · ${meta.date.slice(0, 10)}`,
    memoryTitle: 'resident memory per entry after the fill (bytes: RSS growth after GC ÷ entries; lower is better)',
    notes: [
      'strata-kv: Store.open defaults (in memory: compactions in slices paid by the writes); strata-kv-bg: the same build, ' +
        'background: true (compactions on a background worker thread).',
      'classic-level, rocksdb and lmdb keep their data in files: their RSS is what they hold in the process ' +
        '(memtables, block caches, touched map pages).',
      'Map has no key order, so it runs point operations only; better-sqlite3 runs in :memory:. Numbers: docs/bench-peers.json.',
    ],
  };
}

/** CPU by thread over each fill, and strata-kv's background stats after it (medians). */
export function formatCpuTable(report) {
  const { meta, workloads, peers } = report;
  const rows = [];
  for (const w of workloads.filter((x) => x.id.startsWith('fill-'))) {
    for (const p of peers) {
      const r = rate(p, w.id);
      if (r === undefined) continue;
      rows.push({ peer: p.name, phase: w.id, wallMs: (meta.entries / r) * 1000, cpu: p.cpu?.[w.id]?.median, background: p.background?.[w.id]?.median });
    }
  }
  return formatCpuRows(`CPU during the fills (user + system, ${medianOfRounds(meta.rounds)}; wall ms from the median rate):`, rows);
}
