// Range tombstones (docs/LSM.md, "Range deletions"): [from, to) at sequence s hides every
// entry with from <= key < to and sequence < s from readers at sequences >= s.
//
// They are kept apart from the point entries, as Pebble and RocksDB keep theirs in a
// range-del block: a memtable holds its tombstones in its arena (unlinked nodes, so the
// batch's reservation covers them), a run in one arena of its own (`own`), persisted as the
// run file's range-del block (docs/FORMAT.md). A RangeDels is a list of (from, to, seq)
// whose key bytes live elsewhere (a memtable's arena, a run's arena, an input run of a
// merge) and are pinned by the list's owner.
//
// Cost: nothing for a store that never deletes a range (the engine tests `liveRangeDels`
// first). With T tombstones a point read scans the T of the
// sources it consults, and a merge or iterator checks each user key against them: O(T) per
// key. Fragmenting them (Pebble's fragmenter: sorted, non-overlapping spans with their
// sequences) would make that O(log T); docs/LSM.md lists it as the next step.
// INVARIANT: from < to (unsigned byte order) for every tombstone (the batch check refuses
// the rest).
import { compareBytes } from "./bytes";
import { budgetAlloc, budgetFree } from "./memory-budget";

/** Range tombstone holders alive: each run (built or imported, not yet freed) holding
 *  tombstones counts 1, each memtable (not yet freed) its tombstones. While 0, reads skip
 *  every range check at the cost of one load. */
export let liveRangeDels: i32 = 0;
export function noteRangeDels(delta: i32): void { liveRangeDels += delta; }

export class RangeDels {
  fromPtr: usize[] = [];
  fromLen: u32[] = [];
  toPtr: usize[] = [];
  toLen: u32[] = [];
  seq: u64[] = [];
  /** The arena holding the key bytes when this list owns them (a run's), else 0. */
  own: usize = 0;
  ownSize: usize = 0;

  get count(): i32 { return this.seq.length; }

  push(fp: usize, fl: u32, tp: usize, tl: u32, seq: u64): void {
    this.fromPtr.push(fp); this.fromLen.push(fl);
    this.toPtr.push(tp); this.toLen.push(tl);
    this.seq.push(seq);
  }

  /** Appends every tombstone of `o` with seq <= maxSeq (pointers: `o`'s owner pins them). */
  pushAll(o: RangeDels, maxSeq: u64): void {
    for (let i = 0; i < o.count; i++) {
      let s = unchecked(o.seq[i]);
      if (s <= maxSeq) this.push(unchecked(o.fromPtr[i]), unchecked(o.fromLen[i]), unchecked(o.toPtr[i]), unchecked(o.toLen[i]), s);
    }
  }

  /** The largest sequence <= snapSeq of a tombstone covering `key`; 0 when none does. */
  covering(key: usize, klen: u32, snapSeq: u64): u64 {
    let best: u64 = 0;
    for (let i = 0; i < this.seq.length; i++) {
      let s = unchecked(this.seq[i]);
      if (s <= best || s > snapSeq) continue;
      if (compareBytes(unchecked(this.fromPtr[i]), unchecked(this.fromLen[i]), key, klen) > 0) continue;
      if (compareBytes(key, klen, unchecked(this.toPtr[i]), unchecked(this.toLen[i])) >= 0) continue;
      best = s;
    }
    return best;
  }

  /** Bytes of the keys (what a run file's range-del block and a run's arena hold). */
  keyBytes(): u64 {
    let n: u64 = 0;
    for (let i = 0; i < this.seq.length; i++) n += <u64>unchecked(this.fromLen[i]) + <u64>unchecked(this.toLen[i]);
    return n;
  }

  /** Index of the tombstone with the smallest `from`, or -1. */
  lowest(): i32 {
    let b = -1;
    for (let i = 0; i < this.seq.length; i++) {
      if (b < 0 || compareBytes(unchecked(this.fromPtr[i]), unchecked(this.fromLen[i]), unchecked(this.fromPtr[b]), unchecked(this.fromLen[b])) < 0) b = i;
    }
    return b;
  }

  /** Index of the tombstone with the largest `to`, or -1. */
  highest(): i32 {
    let b = -1;
    for (let i = 0; i < this.seq.length; i++) {
      if (b < 0 || compareBytes(unchecked(this.toPtr[i]), unchecked(this.toLen[i]), unchecked(this.toPtr[b]), unchecked(this.toLen[b])) > 0) b = i;
    }
    return b;
  }

  /** Frees the owned arena (a run's list, when the run is freed). */
  free(): void {
    if (this.own != 0) budgetFree(this.own, this.ownSize);
    this.own = 0;
    this.ownSize = 0;
  }
}

/**
 * A list owning copies of `src`'s tombstones, each clipped to [lo, hi) (hasLo / hasHi false:
 * unbounded) and kept only where keep[i] (null: all); empty clips vanish. Null when none
 * remain, or when memory is refused (then `copyFailed`).
 */
export let copyFailed = false;
export function copyClipped(src: RangeDels, keep: bool[] | null,
                            lo: usize, loLen: u32, hasLo: bool, hi: usize, hiLen: u32, hasHi: bool): RangeDels | null {
  copyFailed = false;
  let out = new RangeDels();
  let size: usize = 0;
  for (let i = 0; i < src.count; i++) {
    if (keep != null && !unchecked(keep[i])) continue;
    let fp = unchecked(src.fromPtr[i]), fl = unchecked(src.fromLen[i]);
    let tp = unchecked(src.toPtr[i]), tl = unchecked(src.toLen[i]);
    if (hasLo && compareBytes(fp, fl, lo, loLen) < 0) { fp = lo; fl = loLen; }
    if (hasHi && compareBytes(tp, tl, hi, hiLen) > 0) { tp = hi; tl = hiLen; }
    if (compareBytes(fp, fl, tp, tl) >= 0) continue;
    out.push(fp, fl, tp, tl, unchecked(src.seq[i]));
    size += <usize>fl + <usize>tl;
  }
  if (out.count == 0) return null;
  let arena = budgetAlloc(size == 0 ? 1 : size);
  if (arena == 0) { copyFailed = true; return null; }
  let q = arena;
  for (let i = 0; i < out.count; i++) {
    let fl = unchecked(out.fromLen[i]), tl = unchecked(out.toLen[i]);
    memory.copy(q, unchecked(out.fromPtr[i]), fl); unchecked(out.fromPtr[i] = q); q += <usize>fl;
    memory.copy(q, unchecked(out.toPtr[i]), tl); unchecked(out.toPtr[i] = q); q += <usize>tl;
  }
  out.own = arena;
  out.ownSize = size == 0 ? 1 : size;
  return out;
}
