// The printed side of bench:disk's two extra phases (run.mjs, steps 4 and 5): durable single
// puts (issue #17) and 4,000-byte values (issue #18), one section each, in the main table's
// layout: strata-kv's value, then per peer its value and strata-kv ÷ peer.
import { compact, peerHeads, peerCell, headed } from '../lib/table.mjs';

const n = (x) => x.toLocaleString('en-US');

/** The rows of both sections. kind 'rate': higher is better (ratio above 1× → strata-kv is
 *  faster); kind 'cost': lower is better (ratio above 1× → strata-kv takes more). */
export const PHASE_ROWS = [
  { section: 'sync-puts', id: 'sync-put', kind: 'rate', title: 'durable put', unit: 'puts/s', note: 'single puts, each acknowledged durable (fsynced) before the next starts' },
  { section: 'sync-puts', id: 'sync-put-p50-us', kind: 'cost', title: 'put latency, median', unit: 'µs', note: 'one durable put, from the call to its acknowledgement (median of the N puts)' },
  { section: 'sync-puts', id: 'sync-put-p99-us', kind: 'cost', title: 'put latency, p99', unit: 'µs', note: 'the same, 99th percentile of the N puts' },
  { section: 'large', id: 'large-fill-durable-mbs', kind: 'rate', title: 'fill, durable', unit: 'MB/s', note: 'MB (10^6 bytes) of values per second: putAll batches, then close + fsync, all timed' },
  { section: 'large', id: 'large-fill-durable', kind: 'rate', title: 'fill, durable', unit: 'puts/s', note: 'the same fill in entries per second' },
  { section: 'large', id: 'large-fill-mbs', kind: 'rate', title: 'fill, writes', unit: 'MB/s', note: 'the same fill, writes only (close + fsync not timed)' },
  { section: 'large', id: 'large-get', kind: 'rate', title: 'get (random)', unit: 'gets/s', note: 'random gets of present keys after a reopen in the same process (page cache warm), each value compared' },
  { section: 'large', id: 'large-close-ms', kind: 'cost', title: 'close + fsync after fill', unit: 'ms', note: 'the peer\'s close(), then fsync of every file and the directory' },
  { section: 'large', id: 'large-reopen-ms', kind: 'cost', title: 'reopen', unit: 'ms', note: 'open of the filled directory, same process, page cache warm' },
  { section: 'large', id: 'large-disk-mib', kind: 'cost', title: 'on disk after', unit: 'MiB', note: 'allocated bytes under the directory after the gets\' close' },
];

const value = (peer, id) => peer?.results[id]?.opsPerSec ?? peer?.results[id]?.median;
const fmt = (v, unit) => (v === undefined ? '—' : unit === 'MB/s' || unit === 'ms' || unit === 'µs' || unit === 'MiB'
  ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : compact(v));

function section(report, id, title, notRun) {
  const [subject, ...others] = report.peers;
  const W = 17;
  const rows = PHASE_ROWS.filter((r) => r.section === id);
  if (rows.every((r) => report.peers.every((p) => value(p, r.id) === undefined))) return [];
  const head = [title.padEnd(28), 'unit'.padEnd(9), subject.name.padStart(10), ...peerHeads(others, W)].join('');
  const lines = [...headed(head)];
  for (const r of rows) {
    const s = value(subject, r.id);
    const cells = others.map((p) => peerCell(value(p, r.id), s, { width: W, fmt: (v) => fmt(v, r.unit) }));
    lines.push([r.title.padEnd(28), r.unit.padEnd(9), fmt(s, r.unit).padStart(10), ...cells].join(''));
  }
  for (const p of report.peers) if (notRun(p)) lines.push(`  ${p.name}: not run — ${notRun(p)}`);
  return lines;
}

/** Both sections, with what each measured; `adapters` (file → adapter) for why a peer has
 *  no durable put. */
export function formatPhases(report, adapters) {
  const { meta } = report;
  const lines = [];
  if (meta.syncPuts.puts > 0) {
    lines.push(`durable single puts (issue #17): ${n(meta.syncPuts.puts)} puts of ${meta.syncPuts.valueBytes}-byte values per peer, ` +
      'each acknowledged durable before the next starts; every put checked after a reopen');
    lines.push(...section(report, 'sync-puts', 'durable puts', (p) =>
      (adapters.get(p.file)?.durable ? undefined : 'no durable single put (adapter has no `durable`)')));
    lines.push('');
  }
  if (meta.large.megabytes > 0) {
    lines.push(`${n(meta.large.valueBytes)}-byte values (issue #18): ${n(meta.large.entries)} entries, ${meta.large.megabytes} MB of values ` +
      `in putAll batches of ${meta.large.batch} (${(meta.large.batch * meta.large.valueBytes / 1000).toFixed(0)} KB), ` +
      `then close + fsync; ${n(meta.large.gets)} random gets after a reopen, each checked`);
    lines.push(...section(report, 'large', `${(meta.large.valueBytes / 1000).toFixed(0)} KB values`, () => undefined));
    lines.push('');
  }
  if (lines.length === 0) return '(durable puts and large values not run: --sync-puts 0, --large-mb 0)';
  lines.push('rows:');
  for (const r of PHASE_ROWS) lines.push(`  ${`${r.title} (${r.unit})`.padEnd(36)} ${r.note}`);
  return lines.join('\n');
}
