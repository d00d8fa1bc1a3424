// What lies below a compaction's output level: whether any deeper level can hold a key, or
// an entry in a key range. The tombstone rules of compaction.ts ask it: a tombstone, or a
// range tombstone, with nothing beneath it to hide is dropped.
//
// Two things answer. A compaction merged here asks the Version it started from
// (VersionBase). One merged by a background worker (remote-compaction.ts) has no Version of
// the levels below its inputs, so its job carries their runs' key ranges and asks those
// (RangeBase). Both give the same answers for the same runs: each level >= 1 is a sorted
// list of disjoint [smallest, largest] ranges, and only a run with entries (blocks) can
// hold an entry in a range.
import { Version, MAX_LEVELS } from "./version";
import { compareBytes } from "./bytes";

export abstract class BaseLevels {
  /** True if no level deeper than the output can hold `key`. */
  abstract forKey(key: usize, klen: u32): bool;
  /** True if no level deeper than the output holds an entry in [from, to). */
  abstract forRange(from: usize, fl: u32, to: usize, tl: u32): bool;
}

/** The deeper levels of a Version (pinned by the caller for as long as this is asked). */
export class VersionBase extends BaseLevels {
  constructor(private v: Version, private outputLevel: i32) { super(); }

  forKey(key: usize, klen: u32): bool {
    for (let l = this.outputLevel + 1; l < MAX_LEVELS; l++) {
      if (this.v.findRun(l, key, klen) >= 0) return false;
    }
    return true;
  }

  forRange(from: usize, fl: u32, to: usize, tl: u32): bool {
    for (let l = this.outputLevel + 1; l < MAX_LEVELS; l++) {
      let runs = unchecked(this.v.levels[l]);
      for (let i = 0; i < runs.length; i++) {
        let r = unchecked(runs[i]);
        if (r.blockCount() == 0) continue; // tombstones only: nothing to hide
        if (overlaps(r.smallest, r.smallestLen, r.largest, r.largestLen, from, fl, to, tl)) return false;
      }
    }
    return true;
  }
}

/** [lo, hi] (user keys, inclusive) meets [from, to). */
function overlaps(lo: usize, ll: u32, hi: usize, hl: u32, from: usize, fl: u32, to: usize, tl: u32): bool {
  return compareBytes(hi, hl, from, fl) >= 0 && compareBytes(lo, ll, to, tl) < 0;
}

/** Key ranges of the runs below a job's output level, read from the job image
 *  (remote-compaction.ts, "The job image"): pointers into it, so the image must outlive
 *  this. Added level by level, each level's in key order as the Version holds them.
 *  INVARIANT: within a level the ranges are sorted and disjoint (forKey's binary search). */
export class RangeBase extends BaseLevels {
  private level: i32[] = [];
  private lo: usize[] = [];
  private loLen: u32[] = [];
  private hi: usize[] = [];
  private hiLen: u32[] = [];
  private hasEntries: bool[] = [];

  /** False when the range breaks the order above (a damaged job image). */
  add(level: i32, lo: usize, ll: u32, hi: usize, hl: u32, hasEntries: bool): bool {
    let n = this.lo.length;
    if (level < 1 || level >= MAX_LEVELS || compareBytes(lo, ll, hi, hl) > 0) return false;
    if (n > 0) {
      let pl = unchecked(this.level[n - 1]);
      if (level < pl) return false;
      if (level == pl && compareBytes(unchecked(this.hi[n - 1]), unchecked(this.hiLen[n - 1]), lo, ll) > 0) return false;
    }
    this.level.push(level);
    this.lo.push(lo); this.loLen.push(ll);
    this.hi.push(hi); this.hiLen.push(hl);
    this.hasEntries.push(hasEntries);
    return true;
  }

  forKey(key: usize, klen: u32): bool {
    let n = this.lo.length;
    let start = 0;
    while (start < n) {
      let level = unchecked(this.level[start]);
      let end = start;
      while (end < n && unchecked(this.level[end]) == level) end++;
      // As Version.findRun: the first range whose largest key is >= key.
      let a = start, b = end;
      while (a < b) {
        let mid = (a + b) >>> 1;
        if (compareBytes(unchecked(this.hi[mid]), unchecked(this.hiLen[mid]), key, klen) < 0) a = mid + 1;
        else b = mid;
      }
      if (a < end && compareBytes(key, klen, unchecked(this.lo[a]), unchecked(this.loLen[a])) >= 0) return false;
      start = end;
    }
    return true;
  }

  forRange(from: usize, fl: u32, to: usize, tl: u32): bool {
    for (let i = 0; i < this.lo.length; i++) {
      if (!unchecked(this.hasEntries[i])) continue;
      if (overlaps(unchecked(this.lo[i]), unchecked(this.loLen[i]), unchecked(this.hi[i]), unchecked(this.hiLen[i]), from, fl, to, tl)) return false;
    }
    return true;
  }
}
