// Number formats and the peer columns shared by the runners' printed tables.

/** 3 significant digits with k / M: 1234567 → "1.23M". */
export function compact(n) {
  const sig = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  if (n >= 1e6) return `${sig(n / 1e6)}M`;
  if (n >= 1e3) return `${sig(n / 1e3)}k`;
  return sig(n);
}

/** A ratio as "1.23×" (≥ 10: "12.3×"); "—" when it is not a finite number. */
export function ratio(r) {
  if (!Number.isFinite(r)) return '—';
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** The header cells of the peer columns: ` │ name`, `width` wide after the bar. */
export const peerHeads = (others, width) => others.map((p) => ` │ ${p.name.padStart(width - 1)}`);

/**
 * One peer's cell: its value `v` (formatted by `fmt`, `valueWidth` wide), then the subject's
 * value `s` ÷ `v` as a ratio ("—" where there is no ratio); "—" alone when `v` is missing.
 */
export function peerCell(v, s, { width, valueWidth = 7, fmt = compact }) {
  if (v == null) return ` │ ${'—'.padStart(width - 1)}`;
  return ` │ ${fmt(v).padStart(valueWidth)} ${ratio(s / v).padStart(width - valueWidth - 2)}`;
}

/** "median of 3 rounds" / "median of 1 round". */
export const medianOfRounds = (rounds) => `median of ${rounds} round${rounds === 1 ? '' : 's'}`;

/** How a table's medians were taken: "median of 3 rounds; node v20…, linux x64, 2 CPUs". */
export const runLine = (meta) => `${medianOfRounds(meta.rounds)}; node ${meta.node}, ${meta.platform}, ${meta.cpus} CPUs`;

/** A header row and the rule under it. */
export const headed = (head) => [head, '─'.repeat(head.length)];

const int = (x) => (x === undefined || x === '' ? '—' : Math.round(x).toLocaleString('en-US'));

/**
 * The "CPU during the fills" table of bench:peers and bench:disk: one line per
 * { peer, phase, wallMs, cpu (lib/threads.mjs cpuSince), background (stats().background) }.
 * CPU is main thread / Node Worker threads / other threads, with the process total beside;
 * the background columns are those of the strata-kv builds with a worker, "—" for the others.
 */
export function formatCpuRows(title, rows) {
  const head = ['peer'.padEnd(18), 'phase'.padEnd(20), 'wall ms'.padStart(9), 'CPU main / worker / other ms'.padStart(30),
    'process'.padStart(9), ' │', 'bg jobs'.padStart(8), 'stalls'.padStart(7), 'stall ms'.padStart(9), 'busy ms'.padStart(8), '  running'].join('');
  const lines = [title, 'worker: Node Worker threads (in strata-kv: the compaction worker); other: V8 (GC, compiler) and libuv helper ' +
    'threads, a native peer\'s own threads; process: process.cpuUsage() (threads that ended count there only)', '', ...headed(head)];
  for (const { peer, phase, wallMs, cpu, background: b } of rows) {
    const split = cpu?.available ? [cpu.mainMs, cpu.workerMs, cpu.otherMs].map(int).join(' / ') : '— (not Linux)';
    lines.push([peer.padEnd(18), phase.padEnd(20), int(wallMs).padStart(9), split.padStart(30), int(cpu?.processMs).padStart(9), ' │',
      int(b?.jobs).padStart(8), int(b?.stalls).padStart(7), int(b?.stallMs).padStart(9), int(b?.busyMs).padStart(8),
      `  ${b === undefined ? '—' : b.running === true ? 'yes' : b.running === false ? 'no' : `${b.running} rounds`}`].join(''));
  }
  return lines.join('\n');
}
