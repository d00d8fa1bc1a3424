// The LSM shape at one moment: the runs of every level. Level 0 holds runs flushed from
// the memtable, newest first, whose key ranges may overlap; every deeper level holds runs
// with disjoint key ranges sorted by key, and is older than the level above it.
//
// Versions are immutable: a flush or compaction builds a new one. An open iterator pins
// the version it started on (and so its runs), which is how it keeps seeing the store as
// of its creation while compactions replace runs underneath.
// INVARIANT: each Version holds one reference on each of its runs.
import { Run } from "./run";
import { compareBytes } from "./bytes";

export const MAX_LEVELS: i32 = 7;

export class Version {
  levels: Array<Array<Run>> = [];
  refs: i32 = 1;

  constructor() {
    for (let i = 0; i < MAX_LEVELS; i++) this.levels.push(new Array<Run>());
  }

  /** A copy with its own references, to be edited before it is installed. */
  clone(): Version {
    let v = new Version();
    for (let l = 0; l < MAX_LEVELS; l++) {
      let src = unchecked(this.levels[l]);
      let dst = unchecked(v.levels[l]);
      for (let i = 0; i < src.length; i++) { let r = unchecked(src[i]); r.ref(); dst.push(r); }
    }
    return v;
  }

  unref(): void {
    if (--this.refs > 0) return;
    for (let l = 0; l < MAX_LEVELS; l++) {
      let runs = unchecked(this.levels[l]);
      for (let i = 0; i < runs.length; i++) unchecked(runs[i]).unref();
      runs.length = 0;
    }
  }

  levelBytes(level: i32): u64 {
    let runs = unchecked(this.levels[level]);
    let b: u64 = 0;
    for (let i = 0; i < runs.length; i++) b += unchecked(runs[i]).bytes;
    return b;
  }

  /** In a level >= 1, the index of the run whose key range could hold `key`, or -1. */
  findRun(level: i32, key: usize, klen: u32): i32 {
    let runs = unchecked(this.levels[level]);
    let lo = 0, hi = runs.length;
    while (lo < hi) {
      let mid = (lo + hi) >>> 1;
      let r = unchecked(runs[mid]);
      if (compareBytes(r.largest, r.largestLen, key, klen) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= runs.length) return -1;
    let r = unchecked(runs[lo]);
    return compareBytes(key, klen, r.smallest, r.smallestLen) >= 0 ? lo : -1;
  }

  /** Inserts `run` into level >= 1 keeping runs sorted by key (ranges are disjoint). */
  insertSorted(level: i32, run: Run): void {
    let runs = unchecked(this.levels[level]);
    let i = 0;
    while (i < runs.length && compareBytes(unchecked(runs[i]).smallest, unchecked(runs[i]).smallestLen, run.smallest, run.smallestLen) < 0) i++;
    runs.push(run);
    for (let j = runs.length - 1; j > i; j--) unchecked(runs[j] = runs[j - 1]);
    unchecked(runs[i] = run);
  }
}
