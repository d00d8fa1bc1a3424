// The block cache: data blocks of file-backed runs (runs whose blocks stay in their run
// file, docs/LSM.md "Larger than memory"), read through the host on demand (run.ts
// acquireBlock reads and checks a block, then adds it here) and kept in a bounded LRU list,
// keyed by run file number and block index. It knows nothing of runs beyond those numbers,
// so it sits below run.ts (which frees a run's blocks here) without importing it.
//
// Pinning and eviction. A reader pins the block it stands on (acquireBlock) and unpins it
// when it moves on (releaseBlock). Eviction (trimCache) frees unpinned blocks, least
// recently used first, until the cache is back under its capacity. It runs only at *safe
// points*: at the start of an exported call that reads (get, get_many, iter_next,
// conditional writes), and inside a compaction merge, which keeps no pointer into an
// unpinned block (Merger copies the key it compares against).
// INVARIANT: between two safe points no block is freed, so a pointer into a block acquired
// during an exported call stays readable until that call returns (the host copies a get's
// value, and iterators copy their batch, before the next call can evict).
//
// Checks: every block read is verified (run.ts checkRead: its file's checksum, entry bounds, and its
// last entry against the run's index) before it is added or anyone sees it, so a damaged
// file is CORRUPTION naming the run and offset, never a wrong answer or a read outside the
// block. The last read failure is recorded here (readStatus), where every reader finds it.
import { budgetFree } from "./memory-budget";
import { DEFAULT_CACHE_BYTES } from "./tuning";
import * as S from "./status";

/** Reads `len` bytes at `offset` of run file `run` into linear memory at `dst`; returns a
 *  status (OK, IO_ERROR, or CORRUPTION for a file shorter than its index says). */
@external("env", "read_block")
export declare function hostReadBlock(run: u32, offset: f64, len: u32, dst: usize): i32;

export class CacheEntry {
  key: u64 = 0;
  ptr: usize = 0;
  len: u32 = 0;
  pins: i32 = 0;
  /** LRU list: head is the most recently used. */
  newer: CacheEntry | null = null;
  older: CacheEntry | null = null;
}

const entries = new Map<u64, CacheEntry>();
let newest: CacheEntry | null = null;
let oldest: CacheEntry | null = null;

export let cacheCapacity: u64 = DEFAULT_CACHE_BYTES;
export let cacheBytes: u64 = 0;
export let cacheHits: u64 = 0;
export let cacheMisses: u64 = 0;
/** Bytes of blocks added since the last safe point: they cannot be evicted before the next
 *  one, so a long read call pauses past READ_CALL_BYTES (db-iterator.ts). */
export let blockBytesThisCall: u64 = 0;
export function startCall(): void { blockBytesThisCall = 0; }
/** Set by the host of a store whose runs may become file-backed (a Node directory):
 *  iterators then copy each batch out (abi-reads.ts iter_next), since a block or a detached
 *  run's memory may be gone by the time the host reads an entry of an earlier call. */
export let fileBacking = false;
export function enableFileBacking(): void { fileBacking = true; }

export function setCacheCapacity(bytes: u64): void { cacheCapacity = bytes; }

// ---- the last read failure ---------------------------------------------------------------
/** Status of the last failed block read (OK when none since clearReadError). */
export let readStatus: i32 = S.OK;
/** Which run file and where: for the host's CORRUPTION / IO_ERROR message. */
export let readErrorRun: u32 = 0;
export let readErrorAt: u64 = 0;
/** For CORRUPTION: a block-check.ts CORRUPT_* code. */
export let readErrorWhat: i32 = 0;

/** The record is the engine's latched background error (engine.ts refusal), not a read of
 *  the call that failed. */
export let readErrorBackground = false;

export function clearReadError(): void { readStatus = S.OK; }

export function readFailed(st: i32, run: u32, at: u64, what: i32): void {
  readStatus = st;
  readErrorRun = run;
  readErrorAt = at;
  readErrorWhat = what;
  readErrorBackground = false;
}

export function markBackground(): void { readErrorBackground = true; }

@inline function cacheKey(run: u32, block: i32): u64 { return (<u64>run << 32) | <u64><u32>block; }

function unlink(e: CacheEntry): void {
  let n = e.newer, o = e.older;
  if (n != null) n.older = o; else newest = o;
  if (o != null) o.newer = n; else oldest = n;
  e.newer = null;
  e.older = null;
}

function pushNewest(e: CacheEntry): void {
  e.older = newest;
  e.newer = null;
  if (newest != null) newest!.newer = e;
  newest = e;
  if (oldest == null) oldest = e;
}

/** The cached block `b` of run file `run`, pinned (the caller must releaseBlock it), or null
 *  when it is not cached (counted as a miss: the caller reads it and adds it). */
export function cacheFind(run: u32, b: i32): CacheEntry | null {
  let key = cacheKey(run, b);
  if (entries.has(key)) {
    let e = entries.get(key);
    cacheHits++;
    e.pins++;
    if (newest !== e) { unlink(e); pushNewest(e); }
    return e;
  }
  cacheMisses++;
  return null;
}

/** Adds block `b` of run file `run`, read and checked at (p, len), pinned once: the cache
 *  owns p from now on. REQUIRES: not cached (cacheFind returned null). */
export function cacheAdd(run: u32, b: i32, p: usize, len: u32): CacheEntry {
  let e = new CacheEntry();
  e.key = cacheKey(run, b);
  e.ptr = p;
  e.len = len;
  e.pins = 1;
  entries.set(e.key, e);
  pushNewest(e);
  cacheBytes += <u64>len;
  blockBytesThisCall += <u64>len;
  return e;
}

export function releaseBlock(e: CacheEntry): void { e.pins--; }

/** Evicts unpinned blocks, oldest first, until the cache is within its capacity. REQUIRES:
 *  a safe point (run.ts safePoint calls it). */
export function trimCache(): void { trimCacheTo(cacheCapacity); }

/** Evicts unpinned blocks, oldest first, until the cache holds at most `bytes` (a write
 *  short of memory empties it: the blocks are copies of their files). REQUIRES: a safe point. */
export function trimCacheTo(bytes: u64): void {
  if (cacheBytes <= bytes) return;
  let e = oldest;
  while (e != null && cacheBytes > bytes) {
    let next = e.newer;
    if (e.pins <= 0) evict(e);
    e = next;
  }
}

function evict(e: CacheEntry): void {
  unlink(e);
  entries.delete(e.key);
  // Poisoned, so that a pointer wrongly kept past a safe point reads garbage at once (and
  // fails a test) instead of plausible stale bytes. Costs far less than the block's read.
  memory.fill(e.ptr, 0xa5, e.len);
  budgetFree(e.ptr, e.len);
  cacheBytes -= <u64>e.len;
  e.ptr = 0;
}

/** Drops the cached blocks of run file `run` (with `blocks` blocks), being freed. REQUIRES: none is pinned (a pin comes
 *  from a RunIterator, which keeps its run alive). */
export function dropRunBlocks(run: u32, blocks: i32): void {
  for (let b = 0; b < blocks; b++) {
    let key = cacheKey(run, b);
    if (entries.has(key)) evict(entries.get(key));
  }
}
