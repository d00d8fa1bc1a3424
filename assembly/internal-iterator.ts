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
}
