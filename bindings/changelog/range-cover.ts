// Key compaction's rule for range deletions (docs/CHANGELOG-FORMAT.md, "Compaction"), shared
// by MemoryChangelog and FileChangelog. A record is dropped only when later records make it
// unable to change any reader's result:
//   - a put or delete of key k, when a later record of k exists (as before) or a later
//     range deletion covers k: whoever applies the later record ends in the same state;
//   - a range deletion, only when later range deletions cover all of [from, to). Its keys'
//     records being gone from the log is not enough: a store restored from a checkpoint, or
//     a standby that read an older put, may hold keys of the range the log no longer shows,
//     and only this record (or a later one covering them) deletes them.
// The log's last record has nothing after it, so it always survives (the restored store's
// last seq). The rule is idempotent: a range dropped is covered by later ones that stay.
//
// Keys are keyId strings (key-range.ts: one char per byte), so JS string order is unsigned byte order.
// Cost: O(R log R) for R range deletions (the boundaries sorted, then each fragment between
// two boundaries given the newest range covering it, skipping fragments already given one
// with a union-find), and O(log R) per key asked.

/** A range deletion [from, to) at ordinal `ord` (its position in the log). */
export interface RangeRecord { ord: number; from: string; to: string }

export class RangeCover {
  private readonly bounds: string[];
  /** Per fragment [bounds[i], bounds[i + 1]): the largest ordinal of a range covering it, -1 when none. */
  private readonly newest: Float64Array;
  /** Per range (in the order given): later ranges cover it whole. */
  readonly dropped: Uint8Array;

  /** `ranges` in ordinal order. */
  constructor(ranges: readonly RangeRecord[]) {
    const all = new Set<string>();
    for (const r of ranges) { all.add(r.from); all.add(r.to); }
    const bounds = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const index = new Map<string, number>();
    for (let i = 0; i < bounds.length; i++) index.set(bounds[i], i);
    const fragments = Math.max(bounds.length - 1, 0);
    const newest = new Float64Array(fragments).fill(-1);
    // next[i]: the first fragment at or after i not yet given a range (union-find, compressed).
    const next = new Int32Array(fragments + 1);
    for (let i = 0; i <= fragments; i++) next[i] = i;
    const find = (i: number): number => {
      let root = i;
      while (next[root] !== root) root = next[root];
      while (next[i] !== root) { const up = next[i]; next[i] = root; i = up; }
      return root;
    };
    this.dropped = new Uint8Array(ranges.length);
    // Newest first: a fragment's first range is its newest.
    for (let j = ranges.length - 1; j >= 0; j--) {
      const r = ranges[j];
      const end = index.get(r.to)!;
      let i = find(index.get(r.from)!);
      if (i >= end) { this.dropped[j] = 1; continue; }
      while (i < end) {
        newest[i] = r.ord;
        next[i] = i + 1;
        i = find(i + 1);
      }
    }
    this.bounds = bounds;
    this.newest = newest;
  }

  /** Whether a range deletion after ordinal `ord` covers `key`. */
  coversAfter(key: string, ord: number): boolean {
    const bounds = this.bounds;
    let lo = 0, hi = bounds.length; // the first bound above key
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid] <= key) lo = mid + 1; else hi = mid;
    }
    const f = lo - 1;
    return f >= 0 && f < this.newest.length && this.newest[f] > ord;
  }
}
