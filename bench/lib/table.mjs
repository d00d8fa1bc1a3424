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
