// The interface shared by everything that yields internal entries in internal-key order
// (memtable, run, level, merge). The current entry is exposed as plain fields so the
// merging code reads them without a virtual call.
// INVARIANT: when `valid`, keyPtr/valPtr point into memory pinned by whoever owns the
// iterator (a memtable or run with a reference held) and stay readable until it moves.
export abstract class InternalIterator {
  valid: bool = false;
  keyPtr: usize = 0;
  keyLen: u32 = 0;
  tag: u64 = 0;
  valPtr: usize = 0;
  valLen: u32 = 0;
  /** OK, or why the iterator stopped before its end: a block read failed (CORRUPTION,
   *  IO_ERROR, OUT_OF_MEMORY), in run file `errRun` at `errAt` (errWhat: a run-file.ts
   *  CORRUPT_* code). INVARIANT: status != OK implies !valid, and it sticks: an iterator
   *  that could not read a block never looks merely exhausted, and every iterator built on
   *  it (level, merging, Merger, DbIterator) carries the status out instead of going on
   *  with its other sources, which would silently skip the damaged block's entries. */
  status: i32 = 0;
  errRun: u32 = 0;
  errAt: u64 = 0;
  errWhat: i32 = 0;

  /** Positions at the first entry >= (key, tag). */
  abstract seekGE(key: usize, klen: u32, tag: u64): void;
  /** Positions at the last entry < (key, tag). */
  abstract seekLT(key: usize, klen: u32, tag: u64): void;
  abstract seekToFirst(): void;
  abstract seekToLast(): void;
  /** REQUIRES: valid. */
  abstract next(): void;
  /** REQUIRES: valid. */
  abstract prev(): void;
  /** Releases what the iterator holds (block pins, reader counts); it is invalid after.
   *  Owners close what they open: DbIterator, Merger, LevelIterator, the merging iterators. */
  close(): void { this.valid = false; }

  /** Takes `src`'s failure as this iterator's own (and becomes invalid). */
  failFrom(src: InternalIterator): void {
    this.valid = false;
    this.status = src.status;
    this.errRun = src.errRun;
    this.errAt = src.errAt;
    this.errWhat = src.errWhat;
  }
}
