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

  close(): void {
    this.valid = false;
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).close();
  }
  /** REQUIRES: a forward iterator. */
  next(): void { this.current!.next(); this.pick(); }
  /** REQUIRES: a reverse iterator. */
  prev(): void { this.current!.prev(); this.pick(); }
}

/**
 * A forward-only merge of many sources, for compactions with a deep level 0 (a restore's
 * ingested runs): a tournament tree of losers (Knuth's replacement selection), so a step
 * costs ceil(log2 k) comparisons — one per level, on the path of the source that moved —
 * instead of MergingIterator's k. Internal keys are unique across the sources (one entry
 * per key and sequence), so there are no ties. Supports seekToFirst, seekGE and next; the
 * backward operations leave it invalid.
 */
export class TreeMergingIterator extends InternalIterator {
  private sources: StaticArray<InternalIterator>;
  /** tree[0]: the winner; tree[1 .. k-1]: the loser of the match at that node. Leaf of
   *  source i is node k + i (a complete binary tree in heap layout). */
  private tree: StaticArray<i32>;
  private k: i32;

  constructor(children: Array<InternalIterator>) {
    super();
    let k = children.length;
    let sources = new StaticArray<InternalIterator>(k);
    for (let i = 0; i < k; i++) unchecked(sources[i] = unchecked(children[i]));
    this.sources = sources;
    this.tree = new StaticArray<i32>(k > 0 ? k : 1);
    this.k = k;
  }

  /** Whether source a is before source b; an exhausted source is after everything. */
  private less(a: i32, b: i32): bool {
    let x = unchecked(this.sources[a]), y = unchecked(this.sources[b]);
    if (!x.valid) return false;
    if (!y.valid) return true;
    return compareInternal(x.keyPtr, x.keyLen, x.tag, y.keyPtr, y.keyLen, y.tag) < 0;
  }

  private build(): void {
    let k = this.k;
    if (k == 0) { this.valid = false; return; }
    let win = new StaticArray<i32>(2 * k);
    for (let i = 0; i < k; i++) unchecked(win[k + i] = i);
    for (let n = k - 1; n >= 1; n--) {
      let a = unchecked(win[2 * n]), b = unchecked(win[2 * n + 1]);
      if (this.less(b, a)) { unchecked(win[n] = b); unchecked(this.tree[n] = a); }
      else { unchecked(win[n] = a); unchecked(this.tree[n] = b); }
    }
    unchecked(this.tree[0] = k == 1 ? 0 : unchecked(win[1]));
    this.sync();
  }

  private sync(): void {
    let top = unchecked(this.sources[unchecked(this.tree[0])]);
    if (!top.valid) { this.valid = false; return; }
    this.valid = true;
    this.keyPtr = top.keyPtr; this.keyLen = top.keyLen; this.tag = top.tag;
    this.valPtr = top.valPtr; this.valLen = top.valLen;
  }

  seekToFirst(): void {
    for (let i = 0; i < this.k; i++) unchecked(this.sources[i]).seekToFirst();
    this.build();
  }
  seekGE(key: usize, klen: u32, tag: u64): void {
    for (let i = 0; i < this.k; i++) unchecked(this.sources[i]).seekGE(key, klen, tag);
    this.build();
  }
  seekLT(key: usize, klen: u32, tag: u64): void { this.valid = false; }
  seekToLast(): void { this.valid = false; }

  close(): void {
    this.valid = false;
    for (let i = 0; i < this.k; i++) unchecked(this.sources[i]).close();
  }

  /** REQUIRES: valid. */
  next(): void {
    let w = unchecked(this.tree[0]);
    unchecked(this.sources[w]).next();
    let tree = this.tree;
    let n = (w + this.k) >> 1;
    while (n >= 1) {
      let l = unchecked(tree[n]);
      if (this.less(l, w)) { unchecked(tree[n] = w); w = l; }
      n >>= 1;
    }
    unchecked(tree[0] = w);
    this.sync();
  }
  prev(): void { this.valid = false; }
}
