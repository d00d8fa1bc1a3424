// The `strata` command: looks at a store directory without opening it (no LOCK, no
// recovery, nothing written).
//
//   strata inspect <dir> [--json]   manifest, checkpoint, runs per level with their key
//                                   ranges, logs with their sequences
//   strata verify <dir> [--json]    inspect, plus the engine checks every run file whole and
//                                   every log is read to its end; exit status 1 on damage
// Exit status 2: bad usage, or a directory that holds no store (no MANIFEST, run or log).
import { inspectDirectory, type DirectoryReport } from './inspect.js';
import { StrataError } from '../errors.js';

const USAGE = 'usage: strata inspect|verify <store directory> [--json]';

/** A key for people: printable ASCII as is, anything else as hex. */
function showKey(k: Uint8Array): string {
  if (k.length === 0) return '(empty)';
  const ascii = k.every((b) => b >= 0x20 && b < 0x7f);
  const text = ascii ? JSON.stringify(String.fromCharCode(...k.subarray(0, 48))) : `0x${Array.from(k.subarray(0, 32), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  return k.length > (ascii ? 48 : 32) ? `${text}…(${k.length} bytes)` : text;
}

function print(r: DirectoryReport, verified: boolean): void {
  const out: string[] = [`store ${r.dir}`];
  const m = r.manifest;
  if (m) {
    out.push(`  manifest: flushedSeq ${m.flushedSeq}, next run ${m.nextRun}, log ${m.log}${m.ttl ? ', values carry an expiry (ttlMs)' : ''}`);
    out.push(m.checkpoint ? `  checkpoint: seq ${m.checkpoint.seq} at ${new Date(m.checkpoint.time).toISOString()}` : '  checkpoint: none');
  } else {
    out.push('  manifest: none');
  }
  const levels = new Map<number, typeof r.runs>();
  for (const run of r.runs) levels.set(run.level, [...(levels.get(run.level) ?? []), run]);
  for (const [level, runs] of [...levels].sort((a, b) => a[0] - b[0])) {
    const bytes = runs.reduce((n, x) => n + x.bytes, 0), entries = runs.reduce((n, x) => n + x.entries, 0);
    out.push(`  level ${level}: ${runs.length} run(s), ${bytes} bytes, ${entries} entries`);
    for (const x of runs) {
      out.push(`    ${String(x.id).padStart(6, '0')}.run  ${x.bytes} B  ${x.entries} entries (${x.tombstones} tombstones${x.rangeTombstones ? `, ${x.rangeTombstones} range tombstones` : ''})  ${x.blocks} blocks  format ${x.format} (${x.checksum})  ${showKey(x.smallestKey)} … ${showKey(x.largestKey)}${x.largestExclusive ? ' (exclusive)' : ''}`);
    }
  }
  const total = r.runs.reduce((n, x) => n + x.bytes, 0);
  const deepest = Math.max(-1, ...r.runs.map((x) => x.level));
  const last = r.runs.filter((x) => x.level === deepest).reduce((n, x) => n + x.bytes, 0);
  if (last > 0) out.push(`  space amplification: ${(total / last).toFixed(2)} (all run bytes / bytes of the deepest level, ${deepest})`);
  const bloomed = r.runs.filter((x) => x.bloomBitsPerKey > 0);
  if (bloomed.length) {
    const bits = bloomed.reduce((n, x) => n + x.bloomBitsPerKey * x.entries, 0) / bloomed.reduce((n, x) => n + x.entries, 0);
    const k = bloomed[0].bloomProbes;
    // Standard estimate (1 - e^{-k/b})^k; the cache-local filter does slightly worse.
    const fpr = (1 - Math.exp(-k / bits)) ** k;
    out.push(`  blooms: ${bloomed.length}/${r.runs.length} runs, ${bits.toFixed(1)} bits/key, ${k} probes, ~${(fpr * 100).toFixed(2)}% false positives`);
  }
  for (const l of r.logs) {
    out.push(`  log ${l.file}: ${l.bytes} B, ${l.records} records${l.records ? `, seq ${l.firstSeq} … ${l.lastSeq}` : ''}${l.tornTail ? ', torn tail (recovery drops it)' : ''}`);
  }
  if (r.stray.length) out.push(`  not in the manifest (recovery deletes them): ${r.stray.join(', ')}`);
  if (r.problems.length) {
    out.push(`  PROBLEMS (${r.problems.length}):`);
    for (const p of r.problems) out.push(`    - ${p}`);
  } else {
    out.push(verified ? '  verified: every run file and log checks out' : '  (structure read; run `strata verify` to check every block)');
  }
  console.log(out.join('\n'));
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const [command, dir] = args;
  if ((command !== 'inspect' && command !== 'verify') || dir === undefined || args.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  let report: DirectoryReport;
  try {
    report = await inspectDirectory(dir, command === 'verify');
  } catch (err) {
    console.error(`strata: ${err instanceof StrataError ? `${err.code}: ` : ''}${(err as Error).message}`);
    return 2;
  }
  if (json) {
    const hex = (k: Uint8Array) => Array.from(k, (b) => b.toString(16).padStart(2, '0')).join('');
    console.log(JSON.stringify({ ...report, runs: report.runs.map((x) => ({ ...x, smallestKey: hex(x.smallestKey), largestKey: hex(x.largestKey) })) }, null, 2));
  } else {
    print(report, command === 'verify');
  }
  return report.problems.length ? 1 : 0;
}
