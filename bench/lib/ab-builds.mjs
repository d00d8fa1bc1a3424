// The parent half of an A/B benchmark across builds (bench/write-ab.mjs,
// bench/rangedel-gets.mjs): each round runs `script --entries N --child <dist>` once per
// build, in a fresh process, collects the ops/s each child prints as JSON, and prints one
// row per operation: median ops/s per build, and each build's ratio to the first. `args`
// are passed on to every child; returns the medians, one { operation: ops/s } per build.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root, median } from './dist.mjs';

export function compareBuilds(script, builds, { entries, rounds, args = [] }) {
  const dists = builds.length > 0 ? builds : [join(root, 'dist')];
  const results = dists.map(() => ({}));
  for (let r = 0; r < rounds; r++) {
    dists.forEach((dist, b) => {
      const p = spawnSync(process.execPath, [script, '--entries', String(entries), ...args, '--child', dist], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${dist}: ${p.stderr}`);
      for (const [k, v] of Object.entries(JSON.parse(p.stdout))) (results[b][k] ??= []).push(v);
    });
  }
  // An operation a build lacks (an older build without the feature) shows as a dash.
  for (const name of [...new Set(results.flatMap((res) => Object.keys(res)))]) {
    const base = results[0][name] ? median(results[0][name]) : undefined;
    const cells = results.map((res, b) => {
      if (!res[name]) return '—'.padStart(7);
      const m = median(res[name]);
      return `${(m / 1000).toFixed(0)}k/s${b > 0 && base ? ` (${(m / base).toFixed(2)}×)` : ''}`;
    });
    console.log(`${name.padEnd(40)} ${cells.join('   ')}`);
  }
  console.log(`(${entries} entries, median of ${rounds} rounds; builds: ${dists.join(', ')})`);
  return results.map((res) => Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)])));
}
