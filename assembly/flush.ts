// Flush in slices (docs/LSM.md, "Flush in slices"): a full memtable is sealed (imm) and a
// fresh one takes the writes; the sealed one is merged into a level-0 run by a Merger that
// each write advances by a slice (leveled.ts payFlush decides when), so no write pays for a
// whole flush (4 MiB: 6–14 ms). Reads stay exact: lookups and new iterators consult mem,
// then imm, then the runs, and the run replaces imm in one install when it is complete.
// INVARIANTS: at most one memtable is sealed; everything in imm is older than everything in
// mem and newer than every run (so flushedSeq = immSeq once its run is in), which is why a
// seal, an ingest and an explicit flush first finish the flush in progress.
import { Memtable, MemtableIterator } from "./memtable";
import { Run } from "./run";
import { Merger, replaceRuns } from "./compaction";
import { setKeepReadReserve } from "./memory-budget";
import { config, counters, mem, imm, version, lastSeq, setMem, setImm, setFlushedSeq, install, smallestSnapshot } from "./state";
import { FLUSH_PACE, minSlice } from "./tuning";
import * as S from "./status";

/** lastSeq when imm was sealed: its entries are exactly the writes in (flushedSeq, immSeq]. */
let immSeq: u64 = 0;
/** The merge of imm into a level-0 run; null when none is sealed, or its last try failed. */
let immFlush: Merger | null = null;
/** Bytes of flushing owed by writes and not yet read. */
let flushDebt: u64 = 0;
/** A slice of the flush was refused memory: slices wait, and the write that fills the
 *  memtable (or an explicit flush) runs the whole flush in one call instead. */
let flushDeferred = false;

/** Bytes of the sealed memtable its flush has read so far (0 when none is sealed). */
export function flushBytesRead(): u64 { return immFlush != null ? immFlush!.bytesRead : 0; }

/** Seals the memtable and starts its flush. REQUIRES: none sealed, mem not empty. */
export function sealMemtable(): i32 {
  let fresh = new Memtable(config.memtableBytes);
  if (!fresh.init()) { fresh.refs = 1; fresh.unref(); return S.OUT_OF_MEMORY; }
  setImm(mem);
  immSeq = lastSeq;
  setMem(fresh);
  flushDebt = 0;
  return S.OK;
}

/** Adds a write of `added` bytes' share to the flush's debt; returns the slice now due (the
 *  debt, once it reaches minSlice()), or 0 (none due, or slices deferred). */
export function flushSliceDue(added: u64): u64 {
  if (flushDeferred) return 0;
  flushDebt += added * FLUSH_PACE;
  return flushDebt >= minSlice(config.memtableBytes) ? flushDebt : 0;
}

/** Merges about `budget` bytes of the sealed memtable (FLUSH_WHOLE: all of it); when its
 *  merge is complete, installs the run in front of level 0. Out of memory keeps imm (reads
 *  still see it); a refused slice defers the flush to one whole call (flushDeferred). REQUIRES:
 *  one sealed. */
export function stepFlush(budget: u64): i32 {
  let sealed = imm!;
  if (immFlush == null) {
    // S is fixed now: a snapshot taken later is at >= immSeq, above every entry of imm.
    // Its range tombstones go to the run whole (no deeper level is asked: base = null).
    immFlush = new Merger(new MemtableIterator(sealed), config.compaction, smallestSnapshot(), null, false,
                          sealed.rangeDels.count > 0 ? sealed.rangeDels : null);
  }
  let m = immFlush!;
  let before = m.bytesRead;
  // A slice's partial run stays allocated after this call: it must leave reads their
  // reserve. A whole flush frees what it took or installs it before returning, so may not.
  let sliced = budget != FLUSH_WHOLE;
  setKeepReadReserve(sliced);
  let ended = m.step(budget);
  setKeepReadReserve(false);
  let read = m.bytesRead - before;
  flushDebt = flushDebt > read ? flushDebt - read : 0;
  if (!ended) return S.OK;
  immFlush = null;
  if (m.failed) {
    if (sliced && m.status == S.OUT_OF_MEMORY) flushDeferred = true;
    return m.status;
  }
  flushDebt = 0;
  flushDeferred = false;
  install(replaceRuns(version, new Array<Run>(), m.output(), 0));
  setFlushedSeq(immSeq);
  counters.flushes++;
  counters.bytesFlushed += m.bytes;
  setImm(null);
  sealed.unref();
  return S.OK;
}

/** The budget of a flush run whole, in one call. */
export const FLUSH_WHOLE: u64 = 0xffffffffffffffff;

/** Finishes the flush of the sealed memtable, if there is one. */
export function finishFlush(): i32 {
  if (imm == null) return S.OK;
  return stepFlush(FLUSH_WHOLE);
}

/** Turns both memtables into level-0 runs in one call, without compacting; afterwards
 *  every write is in a run (flushedSeq = lastSeq). */
export function flushMemtable(): i32 {
  let st = finishFlush();
  if (st != S.OK) return st;
  if (mem.entries == 0) { setFlushedSeq(lastSeq); return S.OK; }
  st = sealMemtable();
  if (st != S.OK) return st;
  return finishFlush();
}
