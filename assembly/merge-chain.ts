// A merge chain (docs/LSM.md, "Merge operators"): the merge operands of one user key that a
// reader or a compaction must fold, and the value they apply to. Operands are entries of
// kind KIND_MERGE; folding is the host's (the operators are JavaScript functions that see
// values decoded by the store's codec), so the engine only gathers a chain and hands it over
// in the chain image below, which the host decodes (bindings/store/merge-fold.ts).
//
// Chain image, little-endian, the order in which the operands apply:
//   count u32 (operands) | flags u32 (bit 0: a base value is present)
//   [baseLen u32 | base bytes]            with bit 0
//   count × (len u32 | operand bytes)      oldest first
// A chain without a base applies to "absent": the key had no value below its operands (a
// tombstone, a covering range tombstone, or nothing at all).
//
// Entries are copied in as they are found (compaction reads sequentially, which reuses its
// buffer, and passes safe points between entries), newest first when walking forward and
// oldest first when walking backward; `image` writes them in application order either way.
import { budgetAlloc, budgetFree, grownCapacity } from "./memory-budget";

export class MergeChain {
  /** The copies: each entry is len u32 | bytes, at offsets[i] of buf. */
  private buf: usize = 0;
  private cap: usize = 0;
  private used: usize = 0;
  private offsets: Array<usize> = new Array<usize>();
  /** Each operand's sequence, in walk order (a compaction that cannot fold writes them back). */
  private seqs: Array<u64> = new Array<u64>();
  /** The newest operand's sequence: the folded value's version. */
  newestSeq: u64 = 0;
  hasBase: bool = false;
  private baseOffset: usize = 0;
  /** Entries were added oldest first (a backward walk). */
  private oldestFirst: bool = false;
  /** A copy was refused memory: the chain is unusable until reset. */
  failed: bool = false;

  reset(oldestFirst: bool): void {
    this.used = 0;
    this.offsets.length = 0;
    this.seqs.length = 0;
    this.hasBase = false;
    this.newestSeq = 0;
    this.oldestFirst = oldestFirst;
    this.failed = false;
  }

  get count(): i32 { return this.offsets.length; }

  /** Adds an operand (in walk order). False when out of memory. */
  addOperand(seq: u64, val: usize, vlen: u32): bool {
    let at = this.copy(val, vlen);
    if (at == <usize>-1) return false;
    this.offsets.push(at);
    this.seqs.push(seq);
    if (seq > this.newestSeq) this.newestSeq = seq;
    return true;
  }

  /** Sets the value the operands apply to. False when out of memory. */
  setBase(val: usize, vlen: u32): bool {
    let at = this.copy(val, vlen);
    if (at == <usize>-1) return false;
    this.baseOffset = at;
    this.hasBase = true;
    return true;
  }

  /** Forgets the base and the operands seen so far (a backward walk met a newer put or
   *  tombstone: what came before it no longer applies). */
  clear(): void {
    this.used = 0;
    this.offsets.length = 0;
    this.seqs.length = 0;
    this.hasBase = false;
    this.newestSeq = 0;
  }

  /** Operand i in walk order: its sequence, bytes and length. */
  operandSeq(i: i32): u64 { return unchecked(this.seqs[i]); }
  operandPtr(i: i32): usize { return this.buf + unchecked(this.offsets[i]) + 4; }
  operandLen(i: i32): u32 { return load<u32>(this.buf + unchecked(this.offsets[i])); }
  basePtr(): usize { return this.buf + this.baseOffset + 4; }
  baseLen(): u32 { return load<u32>(this.buf + this.baseOffset); }

  /** Bytes of the chain image. */
  imageBytes(): usize {
    let n: usize = 8;
    if (this.hasBase) n += 4 + <usize>load<u32>(this.buf + this.baseOffset);
    let offs = this.offsets;
    for (let i = 0; i < offs.length; i++) n += 4 + <usize>load<u32>(this.buf + unchecked(offs[i]));
    return n;
  }

  /** Writes the chain image at dst (imageBytes() bytes). */
  image(dst: usize): void {
    let offs = this.offsets;
    let n = offs.length;
    store<u32>(dst, <u32>n);
    store<u32>(dst, this.hasBase ? 1 : 0, 4);
    let p = dst + 8;
    if (this.hasBase) p = this.put(p, this.baseOffset);
    for (let i = 0; i < n; i++) p = this.put(p, unchecked(offs[this.oldestFirst ? i : n - 1 - i]));
  }

  free(): void {
    budgetFree(this.buf, this.cap);
    this.buf = 0;
    this.cap = 0;
    this.used = 0;
    this.offsets.length = 0;
    this.seqs.length = 0;
  }

  private put(dst: usize, at: usize): usize {
    let len = <usize>load<u32>(this.buf + at);
    memory.copy(dst, this.buf + at, 4 + len);
    return dst + 4 + len;
  }

  /** Copies len u32 | bytes in; returns the offset, or -1 (and sets failed) when refused. */
  private copy(p: usize, len: u32): usize {
    let want = <u64>this.used + 4 + <u64>len;
    if (want > <u64>this.cap) {
      let cap = grownCapacity(this.cap, want, 256);
      let nb = cap == 0 ? <usize>0 : budgetAlloc(cap);
      if (nb == 0) { this.failed = true; return <usize>-1; }
      if (this.used > 0) memory.copy(nb, this.buf, this.used);
      budgetFree(this.buf, this.cap);
      this.buf = nb;
      this.cap = cap;
    }
    let at = this.used;
    store<u32>(this.buf + at, len);
    memory.copy(this.buf + at + 4, p, len);
    this.used = <usize>want;
    return at;
  }
}
