// Iterates a level >= 1 as one sequence: its runs are disjoint and sorted, so only one
// run iterator is open at a time (a concatenating iterator, as LevelDB's two-level one).
import { Run, RunIterator } from "./run";
import { InternalIterator } from "./internal-iterator";
import { compareInternal } from "./internal-key";

export class LevelIterator extends InternalIterator {
  private index: i32 = -1;
  private it: RunIterator | null = null;

  /** `sequential`: its run iterators read ahead (compactions; see RunIterator). */
  constructor(private runs: Array<Run>, private sequential: bool = false) {
    super();
    // A run of range tombstones alone has no entries to yield (and no last key to search).
    let empty = false;
    for (let i = 0; i < runs.length; i++) if (unchecked(runs[i]).blockCount() == 0) empty = true;
    if (empty) {
      let some = new Array<Run>();
      for (let i = 0; i < runs.length; i++) if (unchecked(runs[i]).blockCount() > 0) some.push(unchecked(runs[i]));
      this.runs = some;
    }
  }

  private open(i: i32): bool {
    if (this.status != 0) { this.valid = false; return false; }
    let old = this.it;
    if (i < 0 || i >= this.runs.length) {
      // The old run iterator stays open: the entry it last yielded may still be read
      // during this call. It is closed with the level iterator.
      this.valid = false; this.index = -1; return false;
    }
    if (old != null) old.close();
    this.index = i;
    this.it = new RunIterator(unchecked(this.runs[i]), this.sequential);
    return true;
  }

  close(): void {
    this.valid = false;
    let it = this.it;
    if (it != null) { it.close(); this.it = null; }
  }

  /** Whether the current run iterator failed a read: then so has this one (its status),
   *  rather than moving on to the next run past the damage. */
  // @ts-ignore: decorator
  @inline private failed(): bool {
    let it = this.it;
    if (it == null || it.status == 0) return this.status != 0;
    this.failFrom(it);
    return true;
  }

  // @ts-ignore: decorator
  @inline private sync(): void {
    let it = this.it;
    if (it == null || !it.valid) { this.valid = false; if (it != null && it.status != 0) this.failFrom(it); return; }
    this.valid = true;
    this.keyPtr = it.keyPtr; this.keyLen = it.keyLen; this.tag = it.tag;
    this.valPtr = it.valPtr; this.valLen = it.valLen;
  }

  /** First run whose last internal key >= (key, tag). */
  private findRun(key: usize, klen: u32, tag: u64): i32 {
    let lo = 0, hi = this.runs.length;
    while (lo < hi) {
      let mid = (lo + hi) >>> 1;
      let r = unchecked(this.runs[mid]);
      let nb = r.blockCount() - 1;
      if (compareInternal(unchecked(r.lastKeyPtr[nb]), unchecked(r.lastKeyLen[nb]), unchecked(r.lastTag[nb]), key, klen, tag) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  seekGE(key: usize, klen: u32, tag: u64): void {
    if (!this.open(this.findRun(key, klen, tag))) return;
    this.it!.seekGE(key, klen, tag);
    this.sync();
  }

  seekLT(key: usize, klen: u32, tag: u64): void {
    let i = this.findRun(key, klen, tag);
    if (i >= this.runs.length) { this.seekToLast(); return; }
    if (!this.open(i)) return;
    this.it!.seekLT(key, klen, tag);
    if (!this.it!.valid && !this.failed() && this.open(i - 1)) this.it!.seekToLast();
    this.sync();
  }

  seekToFirst(): void { if (this.open(0)) { this.it!.seekToFirst(); this.sync(); } }
  seekToLast(): void { if (this.open(this.runs.length - 1)) { this.it!.seekToLast(); this.sync(); } }

  next(): void {
    this.it!.next();
    if (!this.it!.valid && !this.failed() && this.open(this.index + 1)) this.it!.seekToFirst();
    this.sync();
  }

  prev(): void {
    this.it!.prev();
    if (!this.it!.valid && !this.failed() && this.open(this.index - 1)) this.it!.seekToLast();
    this.sync();
  }
}
