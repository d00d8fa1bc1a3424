// The ABI's shared regions (docs/ABI.md, "Regions"): the result region every call that
// returns more than a status writes, and the argument region the host writes keys, values and
// batch images into. The iterator batch and the stats block belong to their exports
// (abi-reads.ts, abi-maintenance.ts).
// INVARIANT: the host writes into the argument region only after io_reserve, io_grow or
// io_release, and each of them ends a prepared batch (batch-image.ts), whose image lies there.
import * as E from "./engine";
import * as S from "./status";
import { budgetAlloc, budgetFree, grownCapacity } from "./memory-budget";

/** Result of lookups: +0 value ptr u32, +4 value len u32, +8 sequence f64 (+16 u32: see
 *  read_error). */
export const RESULT: usize = memory.data(24, 8);

let ioPtr: usize = 0;
let ioCap: usize = 0;
/** The argument region's size when nothing larger was asked. */
const IO_MIN: usize = 65536;
/** The region grew into the reserves writes leave (memory-budget.ts): a large argument at the
 *  cap (a put that is then refused, a getAll of many keys) may borrow that room for its call,
 *  but the region outlives the call, and must not keep the room flushes, compactions and
 *  deletes were promised. So a borrowed region is given back by the next reserve that fits
 *  the usual size, and by flush() and compact() (giveBackBorrowed). */
let ioBorrowed = false;

/** The region size that holds `size` bytes: the current one (IO_MIN at least) doubled until
 *  it does, at most MAX_ALLOC (1 GiB less 4 bytes); 0 above it (grownCapacity; the host then
 *  reports OUT_OF_MEMORY): unbounded, a batch past 512 MiB doubled the size to 1 GiB, which
 *  TLSF traps on, and one past 2 GiB doubled it to 0 and looped forever. */
function capFor(size: usize): usize { return grownCapacity(ioCap, <u64>size, IO_MIN); }

/** A fresh region of `cap` bytes (0 when out of memory), noting whether it borrowed. */
function allocRegion(cap: usize): usize {
  let p = budgetAlloc(cap);
  if (p != 0) ioBorrowed = cap > IO_MIN && !E.leavesReserves(0);
  return p;
}

/** Frees what a call kept past its end in room the reserves are for: a borrowed argument
 *  region (the next reserve allocates one) and a lookup's merge chain image. Ends a prepared
 *  batch: call only where none can be pending (flush, compact, a new argument). */
export function giveBackBorrowed(): void {
  E.giveBackChain();
  if (!ioBorrowed) return;
  E.dropPrepared();
  budgetFree(ioPtr, ioCap);
  ioPtr = 0;
  ioCap = 0;
  ioBorrowed = false;
}

export function result_ptr(): usize { return RESULT; }

/** Returns a region of at least `size` bytes the host writes arguments into (0 = no memory).
 *  The region stays put until the next io_reserve with a larger size. */
export function io_reserve(size: u32): usize {
  E.dropPrepared(); // the host is about to write here: a prepared batch's image may go
  if (<usize>size <= IO_MIN) giveBackBorrowed(); // room the reserves need back
  if (<usize>size <= ioCap && ioPtr != 0) return ioPtr;
  let cap = capFor(<usize>size);
  if (cap == 0) return 0;
  let p = allocRegion(cap);
  if (p == 0) return 0;
  budgetFree(ioPtr, ioCap);
  ioPtr = p;
  ioCap = cap;
  return p;
}

/** Like io_reserve, but the region's first `keep` bytes move with it (a restore growing the
 *  chunk it is building). Returns the region, or 0 when out of memory (the old one stays). */
export function io_grow(size: u32, keep: u32): usize {
  E.dropPrepared();
  if (<usize>size <= ioCap && ioPtr != 0) return ioPtr;
  let cap = capFor(<usize>size);
  if (cap == 0) return 0;
  let p = allocRegion(cap);
  if (p == 0) return 0;
  if (ioPtr != 0) memory.copy(p, ioPtr, <usize>keep < ioCap ? <usize>keep : ioCap);
  budgetFree(ioPtr, ioCap);
  ioPtr = p;
  ioCap = cap;
  return p;
}

/** Frees the argument region when it is larger than `keep` bytes (a restore's large chunks
 *  grew it); the next io_reserve allocates a fresh one. */
export function io_release(keep: u32): void {
  E.dropPrepared();
  if (ioCap <= <usize>keep) return;
  budgetFree(ioPtr, ioCap);
  ioPtr = 0;
  ioCap = 0;
  ioBorrowed = false;
}

/** RESULT = what a lookup found (value, seq) when st is OK, or (chain image, newest
 *  operand's seq) when MERGED; returns st. */
export function setResult(st: i32): i32 {
  if (st == S.OK || st == S.MERGED) {
    store<u32>(RESULT, <u32>E.foundVal);
    store<u32>(RESULT, E.foundValLen, 4);
    store<f64>(RESULT, <f64>E.foundSeq, 8);
  }
  return st;
}

/** RESULT +8 = the last sequence; returns st. */
export function lastSeqResult(st: i32): i32 {
  store<f64>(RESULT, <f64>E.lastSeq, 8);
  return st;
}
