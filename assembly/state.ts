// The engine's shared state: configuration, counters, the memtables, the current Version,
// the sequence numbers, the snapshot table and the background-error latch. One module,
// below every part of the engine (engine.ts, flush.ts, leveled.ts, admission.ts,
// batch-image.ts), because AssemblyScript lets a module assign only its own globals: the
// others read these directly and change them through the functions here.
// INVARIANTS: every write with a sequence <= flushedSeq is in a run; the sealed memtable
// (imm) holds exactly the writes in (flushedSeq, its seal's lastSeq], mem the ones after;
// versionStamp changes whenever `version` does.
import { Memtable } from "./memtable";
import { Version } from "./version";
import { CompactionConfig } from "./compaction";
import { makeTag, KIND_PUT, KIND_RANGE_DELETE, KIND_MERGE } from "./internal-key";
import { readFailed, markBackground } from "./block-cache";
import { DEFAULT_MEMTABLE_BYTES, DEFAULT_LEVEL0_TRIGGER, DEFAULT_LEVEL_BASE_BYTES, DEFAULT_LEVEL_MULTIPLIER } from "./tuning";
import * as S from "./status";

export class Config {
  memtableBytes: u32 = DEFAULT_MEMTABLE_BYTES;
  level0Trigger: i32 = DEFAULT_LEVEL0_TRIGGER;
  levelBaseBytes: u64 = DEFAULT_LEVEL_BASE_BYTES;
  levelMultiplier: u32 = DEFAULT_LEVEL_MULTIPLIER;
  autoCompaction: bool = true;
  compaction: CompactionConfig = new CompactionConfig();
}

export class Counters {
  puts: u64 = 0;
  deletes: u64 = 0;
  gets: u64 = 0;
  flushes: u64 = 0;
  compactions: u64 = 0;
  userBytes: u64 = 0;
  bytesFlushed: u64 = 0;
  bytesCompacted: u64 = 0;
  /** Writes that did a back-pressure slice (level 0 full while a compaction is behind). */
  stalls: u64 = 0;
}

export const config = new Config();
export const counters = new Counters();
/** Set by a successful init: until then every call is INVALID_ARGUMENT. */
export let ready = false;
export function setReady(): void { ready = true; }
export let mem: Memtable = new Memtable(DEFAULT_MEMTABLE_BYTES);
/** The sealed memtable being flushed, or null: no write reaches it, every read consults it
 *  after `mem`, and its run replaces it (in front of level 0) when the flush ends. */
export let imm: Memtable | null = null;
export function setMem(m: Memtable): void { mem = m; }
export function setImm(m: Memtable | null): void { imm = m; }
export let version: Version = new Version();
export let lastSeq: u64 = 0;
export function setLastSeq(seq: u64): void { lastSeq = seq; }
/** Changes whenever a new Version is installed: the host compares it after a call to learn
 *  that runs were added or removed (and must be written to or deleted from disk). */
export let versionStamp: u32 = 0;
/** Every write with a sequence <= flushedSeq is in a run (none is only in the memtable). */
export let flushedSeq: u64 = 0;
export function setFlushedSeq(seq: u64): void { flushedSeq = seq; }

export function install(nv: Version): void {
  versionStamp++;
  let old = version;
  version = nv;
  old.unref();
}

/** Applies one write with the next sequence number. REQUIRES: validated, memory reserved. */
export function applyOne(key: usize, klen: u32, kind: u8, val: usize, vlen: u32): void {
  applyAt(lastSeq + 1, key, klen, kind, val, vlen);
}

/** Applies one write with sequence `seq`. REQUIRES: seq > lastSeq, validated, memory reserved. */
export function applyAt(seq: u64, key: usize, klen: u32, kind: u8, val: usize, vlen: u32): void {
  // Neither can fail: the caller reserved the bytes (worstCaseInsertBytes covers both).
  if (kind == KIND_RANGE_DELETE) mem.addRangeDel(key, klen, val, vlen, seq);
  else mem.add(key, klen, makeTag(seq, kind), val, vlen);
  lastSeq = seq;
  if (kind == KIND_PUT || kind == KIND_MERGE) counters.puts++; else counters.deletes++;
  counters.userBytes += <u64>klen + <u64>vlen;
}

// ---- snapshots ---------------------------------------------------------------------------

/** Live snapshots: sequence → how many handles hold it. */
const snapshots = new Map<u64, i32>();

export function smallestSnapshot(): u64 {
  let s = lastSeq;
  let keys = snapshots.keys();
  for (let i = 0; i < keys.length; i++) if (unchecked(keys[i]) < s) s = unchecked(keys[i]);
  return s;
}

export function acquireSnapshot(): u64 {
  let s = lastSeq;
  snapshots.set(s, snapshots.has(s) ? snapshots.get(s) + 1 : 1);
  return s;
}

export function releaseSnapshot(seq: u64): void {
  if (!snapshots.has(seq)) return;
  let n = snapshots.get(seq) - 1;
  if (n <= 0) snapshots.delete(seq); else snapshots.set(seq, n);
}

export function snapshotCount(): i32 {
  let n = 0;
  let vals = snapshots.values();
  for (let i = 0; i < vals.length; i++) n += unchecked(vals[i]);
  return n;
}

// ---- the background error ---------------------------------------------------------------
// As RocksDB's background-error state (docs/API.md, "Background errors"): the first
// CORRUPTION or IO_ERROR a compaction meets, whether one in slices driven by writes or
// compactAll, is latched. The compaction itself has failed cleanly (its output freed, its
// inputs still in the version), and the write whose slice met it was already applied, so
// that write succeeds; from then on the engine refuses writes, flushes and compactions with
// the latched error before changing anything, and starts no compaction (which would meet the
// same damage again), until the store is reopened. Reads go on: a read of a damaged block
// fails on its own, every other one answers. Running out of memory is not latched: it
// passes, and the next flush tries again.

/** OK, or the latched background error, and where the block read failed. */
export let bgStatus: i32 = S.OK;
export let bgRun: u32 = 0;
export let bgAt: u64 = 0;
export let bgWhat: i32 = 0;

/** Latches a compaction's failure `st` when it is damage or I/O (the first one stays). */
export function latch(st: i32, run: u32, at: u64, what: i32): void {
  if (bgStatus != S.OK || (st != S.CORRUPTION && st != S.IO_ERROR)) return;
  bgStatus = st; bgRun = run; bgAt = at; bgWhat = what;
}

/** The latched error, as a refused call's status: published as the last read failure
 *  (marked background), so the host's message names its file and offset. REQUIRES: latched. */
export function refusal(): i32 {
  readFailed(bgStatus, bgRun, bgAt, bgWhat);
  markBackground();
  return bgStatus;
}
