// What bench:peers and bench:disk do with their per-peer results at the end of a run:
// check that they are comparable, say so when not, and write them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Why `peers` (strata-kv first) are not comparable: strata-kv ran more than one build, a
 * variant of it (strata-kv-slices, strata-kv-bg) ran another build, or a peer's check (hits, bytes read,
 * entries scanned) differs from strata-kv's for an operation both ran. Empty when they are
 * comparable.
 */
export function findMismatches(peers) {
  const [subject, ...others] = peers;
  const out = [];
  if (subject.build?.includes(',')) out.push(`strata-kv ran more than one build (${subject.build}): rerun`);
  for (const p of others) {
    if (p.build !== undefined && p.build !== subject.build) out.push(`${p.name} ran build ${p.build}, strata-kv ${subject.build}: rerun`);
  }
  for (const p of others) {
    for (const [id, check] of Object.entries(p.checks)) {
      if (subject.checks[id] !== undefined && subject.checks[id] !== check) {
        out.push(`${p.name} ${id}: ${check} vs strata-kv ${subject.checks[id]}`);
      }
    }
  }
  return out;
}

/** Prints the mismatches, if any, and makes the process exit with 1 for them. */
export function reportMismatches(mismatches) {
  if (!mismatches.length) return;
  console.log('');
  console.log(`WARNING: results are not comparable:\n  ${mismatches.join('\n  ')}`);
  process.exitCode = 1;
}

/** Writes `${name}.json` (the report) and `${name}.svg` into the directory `out`. */
export function writeResults(out, name, report, svg) {
  mkdirSync(out, { recursive: true }); // --out may name a new directory
  const jsonPath = join(out, `${name}.json`);
  const svgPath = join(out, `${name}.svg`);
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(svgPath, svg);
  console.log('');
  console.log(`wrote ${relative(process.cwd(), jsonPath)} and ${relative(process.cwd(), svgPath)}`);
}
