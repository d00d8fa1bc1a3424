// Merges the internal entries of several sources (memtable, level-0 runs, levels) into one
// internal-key order. Cost per step: O(k) comparisons over k sources (k is small: the
// memtable, at most a few level-0 runs and one iterator per deeper level).
// An iterator moves in one direction for its whole life (the public API has no direction
// switch), which is what lets a step just advance the current source.
import { InternalIterator } from "./internal-iterator";
import { compareInternal } from "./internal-key";

export class MergingIterator extends InternalIterator {
  private current: InternalIterator | null = null;

  constructor(private children: Array<InternalIterator>, private forward: bool) { super(); }

  private pick(): void {
    let best: InternalIterator | null = null;
    let cs = this.children;
    for (let i = 0; i < cs.length; i++) {
      let c = unchecked(cs[i]);
      if (!c.valid) continue;
      if (best == null) { best = c; continue; }
      let cmp = compareInternal(c.keyPtr, c.keyLen, c.tag, best.keyPtr, best.keyLen, best.tag);
      if (this.forward ? cmp < 0 : cmp > 0) best = c;
    }
    this.current = best;
    if (best == null) { this.valid = false; return; }
    this.valid = true;
    this.keyPtr = best.keyPtr; this.keyLen = best.keyLen; this.tag = best.tag;
    this.valPtr = best.valPtr; this.valLen = best.valLen;
  }

  seekGE(key: usize, klen: u32, tag: u64): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekGE(key, klen, tag);
    this.pick();
  }
  seekLT(key: usize, klen: u32, tag: u64): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekLT(key, klen, tag);
    this.pick();
  }
  seekToFirst(): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekToFirst();
    this.pick();
  }
  seekToLast(): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekToLast();
    this.pick();
  }
  /** REQUIRES: a forward iterator. */
  next(): void { this.current!.next(); this.pick(); }
  /** REQUIRES: a reverse iterator. */
  prev(): void { this.current!.prev(); this.pick(); }
}
