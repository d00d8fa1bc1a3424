// Hand-written SVG charts: no dependencies, readable as text. renderBarChart draws
// docs/bench-peers.svg and docs/bench-disk.svg: a grouped bar chart of the medians (one group
// per workload, one bar per peer, log-scale rate axis) above a bar chart of resident memory
// per entry, with each suite's `labels` (title, memory title, footnotes, optional subtitle).
import { compact } from './table.mjs';

const COLORS = ['#e8590c', '#868e96', '#3b5bdb', '#2f9e44', '#f08c00', '#7048e8', '#c2255c', '#0c8599', '#5c940d'];
const WIDTH = 1000;
const PLOT = { left: 70, right: 985, top: 104, bottom: 404 };
export const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const r1 = (x) => Math.round(x * 10) / 10;
const decade = (e) => (e >= 6 ? `${10 ** (e - 6)}M` : e >= 3 ? `${10 ** (e - 3)}k` : `${10 ** e}`);

export function renderBarChart(report, { title, memoryTitle, notes, subtitle }) {
  const { workloads, peers } = report;
  const out = [];
  const text = (x, y, s, attrs = '') => out.push(`<text x="${r1(x)}" y="${r1(y)}" ${attrs}>${esc(s)}</text>`);

  // Log scale over whole decades spanning every charted rate (a suite's results may hold
  // rates it does not chart, such as bench:disk's durable puts).
  const rates = peers.flatMap((p) => workloads.map((w) => p.results[w.id]?.opsPerSec)).filter((r) => r > 0);
  const loExp = Math.floor(Math.log10(Math.min(...rates)));
  const hiExp = Math.ceil(Math.log10(Math.max(...rates)));
  const y = (v) => PLOT.bottom - ((Math.log10(v) - loExp) / (hiExp - loExp)) * (PLOT.bottom - PLOT.top);

  const memTop = PLOT.bottom + 92;
  const rowH = 20;
  const height = memTop + 40 + peers.length * rowH + 12 + 14 * Math.max(2, notes.length); // a 14 px line per footnote

  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} font-size="12" fill="#212529">`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  text(PLOT.left, 28, title, 'font-size="17" font-weight="600"');
  text(PLOT.left, 48, subtitle, 'font-size="11" fill="#495057"');

  // Legend: one row, or two when the names do not fit (the plot starts below the second).
  let lx = PLOT.left, ly = 64;
  peers.forEach((p, i) => {
    if (lx + 17 + p.name.length * 7 > WIDTH - 10) { lx = PLOT.left; ly += 18; }
    out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    text(lx + 17, ly + 10.5, p.name, i === 0 ? 'font-weight="600"' : '');
    lx += 36 + p.name.length * 7;
  });

  // Decade grid and axis labels.
  for (let e = loExp; e <= hiExp; e++) {
    const gy = y(10 ** e);
    out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${r1(gy)}" y2="${r1(gy)}" stroke="#ced4da"/>`);
    text(PLOT.left - 8, gy + 4, decade(e), 'text-anchor="end" fill="#495057"');
    if (e < hiExp) for (const m of [2, 5]) {
      const my = y(m * 10 ** e);
      out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${r1(my)}" y2="${r1(my)}" stroke="#f1f3f5"/>`);
    }
  }
  text(18, (PLOT.top + PLOT.bottom) / 2, 'ops / s', `transform="rotate(-90 18 ${(PLOT.top + PLOT.bottom) / 2})" text-anchor="middle" fill="#495057"`);

  // Bars.
  const gw = (PLOT.right - PLOT.left) / workloads.length;
  const pad = 14;
  const bw = (gw - 2 * pad) / peers.length;
  workloads.forEach((w, wi) => {
    const gx = PLOT.left + wi * gw;
    if (wi > 0) out.push(`<line x1="${r1(gx)}" x2="${r1(gx)}" y1="${PLOT.top}" y2="${PLOT.bottom + 40}" stroke="#e9ecef"/>`);
    peers.forEach((p, pi) => {
      const bx = gx + pad + pi * bw;
      const cx = bx + bw / 2;
      const r = p.results[w.id]?.opsPerSec;
      if (r === undefined) {
        text(cx + 3, PLOT.bottom - 6, 'n/a', `transform="rotate(-90 ${r1(cx + 3)} ${PLOT.bottom - 6})" font-size="9" fill="#adb5bd"`);
        return;
      }
      const by = y(r);
      out.push(`<rect x="${r1(bx + 1)}" y="${r1(by)}" width="${r1(bw - 2)}" height="${r1(PLOT.bottom - by)}" fill="${COLORS[pi % COLORS.length]}"><title>${esc(`${p.name} · ${w.title}: ${Math.round(r).toLocaleString('en-US')} ${w.unit}/s`)}</title></rect>`);
      text(cx + 3, by - 4, compact(r), `transform="rotate(-90 ${r1(cx + 3)} ${r1(by - 4)})" font-size="9" fill="#343a40"`);
    });
    text(gx + gw / 2, PLOT.bottom + 18, w.title, 'text-anchor="middle" font-weight="600"');
    text(gx + gw / 2, PLOT.bottom + 33, `${w.unit}/s`, 'text-anchor="middle" font-size="11" fill="#495057"');
  });
  out.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}" stroke="#495057"/>`);

  // Resident memory per entry: horizontal bars, linear scale.
  text(PLOT.left, memTop, memoryTitle, 'font-size="15" font-weight="600"');
  const mems = peers.map((p) => p.memory.bytesPerEntry);
  const mMax = Math.max(...mems, 1);
  const mx0 = PLOT.left + 60, mx1 = PLOT.right - 60;
  peers.forEach((p, i) => {
    const ry = memTop + 16 + i * rowH;
    const v = Math.max(0, p.memory.bytesPerEntry);
    const w = (v / mMax) * (mx1 - mx0);
    text(mx0 - 8, ry + 13, p.name, `text-anchor="end"${i === 0 ? ' font-weight="600"' : ''}`);
    out.push(`<rect x="${mx0}" y="${ry + 2}" width="${r1(Math.max(w, 1))}" height="${rowH - 5}" fill="${COLORS[i % COLORS.length]}"/>`);
    text(mx0 + Math.max(w, 1) + 6, ry + 13, `${p.memory.bytesPerEntry.toFixed(0)} B`, 'font-size="11"');
  });
  const note = 'font-size="10" fill="#868e96"';
  notes.forEach((line, i, all) => { text(PLOT.left, height - 10 - 14 * (all.length - 1 - i), line, note); });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
