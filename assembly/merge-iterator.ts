// Merges the internal entries of several sources (memtable, level-0 runs, levels) into one
// internal-key order. A step costs one comparison while the current source stays ahead of
// the runner-up, else O(k) over k sources (k is small: the memtable, at most a few level-0
// runs and one iterator per deeper level); comparisons read cached 8-byte key prefixes.
// An iterator moves in one direction for its whole life (the public API has no direction
// switch), which is what lets a step just advance the current source.
import { InternalIterator } from "./internal-iterator";
import { compareInternal } from "./internal-key";
import { keyPrefix } from "./bytes";

export class MergingIterator extends InternalIterator {
  /** The source of the current entry, and the one that would follow it (-1: none). */
  private cur: i32 = -1;
  private second: i32 = -1;
  /** Per source: the first eight bytes of its current key (keyPrefix), so that most
   *  comparisons read one u64 instead of two keys. */
  private prefixes: StaticArray<u64>;

  constructor(private children: Array<InternalIterator>, private forward: bool) {
    super();
    this.prefixes = new StaticArray<u64>(children.length);
  }

  /** Whether source a's entry comes before source b's in this iterator's direction. Both
   *  valid. Prefixes that differ decide as the keys would. */
  // @ts-ignore: decorator
  @inline private before(a: i32, b: i32): bool {
    let pa = unchecked(this.prefixes[a]), pb = unchecked(this.prefixes[b]);
    let cmp: i32;
    if (pa != pb) cmp = pa < pb ? -1 : 1;
    else {
      let x = unchecked(this.children[a]), y = unchecked(this.children[b]);
      cmp = compareInternal(x.keyPtr, x.keyLen, x.tag, y.keyPtr, y.keyLen, y.tag);
    }
    return this.forward ? cmp < 0 : cmp > 0;
  }

  /** Chooses the current and second sources among all; ties go to the earlier source. */
  private pick(): void {
    let best = -1, second = -1;
    let cs = this.children;
    for (let i = 0; i < cs.length; i++) {
      if (!unchecked(cs[i]).valid) continue;
      if (best < 0) best = i;
      else if (this.before(i, best)) { second = best; best = i; }
      else if (second < 0 || this.before(i, second)) second = i;
    }
    this.cur = best;
    this.second = second;
    this.sync();
  }

  // @ts-ignore: decorator
  @inline private sync(): void {
    if (this.cur < 0) { this.valid = false; return; }
    let c = unchecked(this.children[this.cur]);
    this.valid = true;
    this.keyPtr = c.keyPtr; this.keyLen = c.keyLen; this.tag = c.tag;
    this.valPtr = c.valPtr; this.valLen = c.valLen;
  }

  // @ts-ignore: decorator
  @inline private loadPrefix(i: i32): void {
    let c = unchecked(this.children[i]);
    if (c.valid) unchecked(this.prefixes[i] = keyPrefix(c.keyPtr, c.keyLen));
  }

  /** After every source moved: a source that failed a read fails the merge (it must not
   *  look exhausted while the others go on, see InternalIterator.status). */
  private seeked(): void {
    for (let i = 0; i < this.children.length; i++) {
      let c = unchecked(this.children[i]);
      if (c.status != 0) { this.failFrom(c); return; }
      this.loadPrefix(i);
    }
    this.pick();
  }

  /** After the current source moved: it stays current while it is still before the second
   *  (which has not moved), one comparison; otherwise all are compared again. */
  // @ts-ignore: decorator
  @inline private advanced(): void {
    let i = this.cur;
    let c = unchecked(this.children[i]);
    if (c.valid) {
      this.loadPrefix(i);
      if (this.second < 0 || this.before(i, this.second)) { this.sync(); return; }
    } else if (c.status != 0) { this.failFrom(c); return; }
    this.pick();
  }

  seekGE(key: usize, klen: u32, tag: u64): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekGE(key, klen, tag);
    this.seeked();
  }
  seekLT(key: usize, klen: u32, tag: u64): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekLT(key, klen, tag);
    this.seeked();
  }
  seekToFirst(): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekToFirst();
    this.seeked();
  }
  seekToLast(): void {
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).seekToLast();
    this.seeked();
  }

  close(): void {
    this.valid = false;
    for (let i = 0; i < this.children.length; i++) unchecked(this.children[i]).close();
  }
  /** REQUIRES: a forward iterator. */
  next(): void { unchecked(this.children[this.cur]).next(); this.advanced(); }
  /** REQUIRES: a reverse iterator. */
  prev(): void { unchecked(this.children[this.cur]).prev(); this.advanced(); }
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
    for (let i = 0; i < k; i++) {
      let s = unchecked(this.sources[i]);
      if (s.status != 0) { this.failFrom(s); return; } // see MergingIterator.seeked
    }
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
  seekLT(_key: usize, _klen: u32, _tag: u64): void { this.valid = false; }
  seekToLast(): void { this.valid = false; }

  close(): void {
    this.valid = false;
    for (let i = 0; i < this.k; i++) unchecked(this.sources[i]).close();
  }

  /** REQUIRES: valid. */
  next(): void {
    let w = unchecked(this.tree[0]);
    let moved = unchecked(this.sources[w]);
    moved.next();
    if (moved.status != 0) { this.failFrom(moved); return; }
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
