// docs/bench-growth.svg (and -disk.svg): cost per operation against store size, both on log
// scales, one line per workload, with a dashed "∝ log N" line through each workload's
// smallest size: a workload whose line stays at or under its dashed line costs no more than
// log N per operation. Hand-written SVG, as lib/chart.mjs.
import { FONT, esc, r1 } from '../lib/chart.mjs';

/** The workloads charted: result field (operations per second) → label. */
export const GROWTH_WORKLOADS = [
  { field: 'fillOpsPerSec', label: 'put (fill)', color: '#e8590c' },
  { field: 'getOpsPerSec', label: 'get, hit', color: '#3b5bdb' },
  { field: 'missOpsPerSec', label: 'get, missing', color: '#2f9e44' },
  { field: 'scanPerSec', label: 'scan, per entry', color: '#7048e8' },
];

/** µs per operation of `field` in result `r`. */
export const costUs = (r, field) => 1e6 / r[field];

/** For each workload: cost at each size relative to the smallest, beside log N relative to
 *  log of the smallest (the bound: cost must grow no faster than log N). */
export function growthVsLogN(results) {
  const first = results[0];
  return GROWTH_WORKLOADS.map(({ field, label }) => ({
    label,
    points: results.map((r) => ({
      entries: r.entries,
      costRatio: costUs(r, field) / costUs(first, field),
      logRatio: Math.log(r.entries) / Math.log(first.entries),
    })),
  }));
}

const sizeLabel = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

export function renderGrowthSvg(doc) {
  const { results } = doc;
  const W = 900, H = 440;
  const P = { left: 70, right: 600, top: 70, bottom: 380 };
  const costs = results.flatMap((r) => GROWTH_WORKLOADS.map((w) => costUs(r, w.field)));
  const lo = Math.floor(Math.log10(Math.min(...costs)) * 2) / 2;
  const hi = Math.ceil(Math.log10(Math.max(...costs) * 1.6) * 2) / 2;
  const nLo = Math.log10(results[0].entries), nHi = Math.log10(results[results.length - 1].entries);
  const x = (n) => P.left + ((Math.log10(n) - nLo) / Math.max(nHi - nLo, 1e-9)) * (P.right - P.left);
  const y = (us) => P.bottom - ((Math.log10(us) - lo) / (hi - lo)) * (P.bottom - P.top);
  const out = [];
  const text = (tx, ty, s, attrs = '') => out.push(`<text x="${r1(tx)}" y="${r1(ty)}" ${attrs}>${esc(s)}</text>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12" fill="#212529">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  text(P.left, 26, `strata-kv growth, ${doc.store}: µs per operation by store size (log scales; lower is better)`, 'font-size="15" font-weight="600"');
  text(P.left, 46, `${doc.keyBytes}-byte keys in random order · ${doc.valueBytes}-byte values · dashed: ∝ log N from the smallest size · node ${doc.node} · ${doc.cpus} CPUs · ${doc.date.slice(0, 10)}`, 'font-size="11" fill="#495057"');
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    const gy = y(10 ** e);
    out.push(`<line x1="${P.left}" x2="${P.right}" y1="${r1(gy)}" y2="${r1(gy)}" stroke="#dee2e6"/>`);
    text(P.left - 8, gy + 4, `${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} µs`, 'text-anchor="end" fill="#495057"');
  }
  for (const r of results) {
    out.push(`<line x1="${r1(x(r.entries))}" x2="${r1(x(r.entries))}" y1="${P.top}" y2="${P.bottom}" stroke="#dee2e6"/>`);
    text(x(r.entries), P.bottom + 18, sizeLabel(r.entries), 'text-anchor="middle"');
  }
  text((P.left + P.right) / 2, P.bottom + 40, 'entries in the store', 'text-anchor="middle" fill="#495057"');
  GROWTH_WORKLOADS.forEach((w, i) => {
    const pts = results.map((r) => [x(r.entries), y(costUs(r, w.field))]);
    const first = results[0];
    const bound = results.map((r) => [x(r.entries), y(costUs(first, w.field) * Math.log(r.entries) / Math.log(first.entries))]);
    out.push(`<polyline fill="none" stroke="${w.color}" stroke-width="1.2" stroke-dasharray="4 4" points="${bound.map((p) => p.map(r1).join(',')).join(' ')}"/>`);
    out.push(`<polyline fill="none" stroke="${w.color}" stroke-width="2.5" points="${pts.map((p) => p.map(r1).join(',')).join(' ')}"/>`);
    for (const [px, py] of pts) out.push(`<circle cx="${r1(px)}" cy="${r1(py)}" r="3.5" fill="${w.color}"/>`);
    const ly = P.top + 10 + i * 24;
    out.push(`<line x1="${P.right + 20}" x2="${P.right + 40}" y1="${ly}" y2="${ly}" stroke="${w.color}" stroke-width="2.5"/>`);
    const last = results[results.length - 1];
    text(P.right + 46, ly + 4, `${w.label}: ${costUs(last, w.field).toFixed(2)} µs at ${sizeLabel(last.entries)}`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
