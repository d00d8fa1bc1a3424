// The user-visible iterator: walks the merged internal entries and yields, for every user
// key in [lower, upper), the newest version with sequence <= snapSeq, skipping tombstones.
// It pins the memtable and the Version it started on, so flushes and compactions after its
// creation change nothing it sees; `close` drops the pins.
import { MergingIterator } from "./merge-iterator";
import { Memtable } from "./memtable";
import { Version } from "./version";
import { compareBytes, equalBytes } from "./bytes";
import { tagSeq, tagKind, KIND_PUT } from "./internal-key";
import { budgetFree } from "./memory-budget";

const FIRST_TAG: u64 = 0xffffffffffffffff; // sorts before every real tag of a key

export class DbIterator {
  keyPtr: usize = 0;
  keyLen: u32 = 0;
  valPtr: usize = 0;
  valLen: u32 = 0;
  private started: bool = false;
  private finished: bool = false;
  private hasSkip: bool = false;
  private skipKey: usize = 0;
  private skipLen: u32 = 0;

  constructor(
    private merged: MergingIterator,
    private mem: Memtable,
    private version: Version,
    private snapSeq: u64,
    private forward: bool,
    private lower: usize, private lowerLen: u32, private hasLower: bool,
    private upper: usize, private upperLen: u32, private hasUpper: bool,
  ) {}

  /** Moves to the next visible entry; false at the end. */
  step(): bool {
    if (this.finished) return false;
    if (!this.started) {
      this.started = true;
      if (this.forward) {
        if (this.hasLower) this.merged.seekGE(this.lower, this.lowerLen, FIRST_TAG);
        else this.merged.seekToFirst();
      } else {
        if (this.hasUpper) this.merged.seekLT(this.upper, this.upperLen, FIRST_TAG);
        else this.merged.seekToLast();
      }
    }
    let ok = this.forward ? this.stepForward() : this.stepReverse();
    if (!ok) this.finished = true;
    return ok;
  }

  private stepForward(): bool {
    let m = this.merged;
    while (m.valid) {
      let k = m.keyPtr, kl = m.keyLen, tag = m.tag;
      if (this.hasUpper && compareBytes(k, kl, this.upper, this.upperLen) >= 0) return false;
      if (tagSeq(tag) > this.snapSeq || (this.hasSkip && equalBytes(k, kl, this.skipKey, this.skipLen))) {
        m.next();
        continue;
      }
      // The first visible entry of a user key is its newest visible version.
      this.hasSkip = true;
      this.skipKey = k;
      this.skipLen = kl;
      let isPut = tagKind(tag) == KIND_PUT;
      if (isPut) { this.keyPtr = k; this.keyLen = kl; this.valPtr = m.valPtr; this.valLen = m.valLen; }
      m.next();
      if (isPut) return true;
    }
    return false;
  }

  private stepReverse(): bool {
    // Versions of one user key arrive oldest first: keep the last visible one of the group.
    let m = this.merged;
    let inGroup = false, hasBest = false, bestPut = false;
    let gk: usize = 0, gl: u32 = 0;
    while (m.valid) {
      let k = m.keyPtr, kl = m.keyLen, tag = m.tag;
      if (inGroup && !equalBytes(k, kl, gk, gl)) {
        if (hasBest && bestPut) return true;
        inGroup = false;
        hasBest = false;
      }
      if (!inGroup) {
        if (this.hasLower && compareBytes(k, kl, this.lower, this.lowerLen) < 0) return false;
        inGroup = true;
        gk = k; gl = kl;
      }
      if (tagSeq(tag) <= this.snapSeq) {
        hasBest = true;
        bestPut = tagKind(tag) == KIND_PUT;
        this.keyPtr = k; this.keyLen = kl; this.valPtr = m.valPtr; this.valLen = m.valLen;
      }
      m.prev();
    }
    return inGroup && hasBest && bestPut;
  }

  close(): void {
    this.finished = true;
    this.mem.unref();
    this.version.unref();
    if (this.hasLower) budgetFree(this.lower, this.lowerLen == 0 ? 1 : this.lowerLen);
    if (this.hasUpper) budgetFree(this.upper, this.upperLen == 0 ? 1 : this.upperLen);
    this.hasLower = false;
    this.hasUpper = false;
  }
}
