// The ABI's maintenance (docs/ABI.md, "Exports"): flush and compaction on demand, pausing
// compaction, the expiry clock compaction reads, the memory reservation, and the stats block.
import * as E from "./engine";
import { MAX_LEVELS } from "./version";
import { cacheCapacity, cacheBytes, cacheHits, cacheMisses } from "./block-cache";
import { setExpiryClock } from "./compaction";
import { setMemoryReserve } from "./memory-budget";
import { giveBackBorrowed } from "./abi-regions";

/** stats(): STATS_FIELDS f64 slots, see docs/ABI.md. */
const STATS_FIELDS: i32 = 16 + MAX_LEVELS * 3 + 4 + 5 + 2;
const STATS: usize = memory.data(STATS_FIELDS * 8, 8);

export function stats_ptr(): usize { return STATS; }

// Both first give back an argument region that borrowed the room they were promised.
export function flush(): i32 { giveBackBorrowed(); return E.flush(); }

/** 1: no compaction starts or advances until 0 (a host replaying its log at open: see
 *  engine.ts pauseCompaction). An explicit compact still runs. */
export function pause_compaction(on: i32): void { E.pauseCompaction(on != 0); }
export function compact(): i32 { giveBackBorrowed(); return E.compactAll(); }

/** Writes the stats layout (docs/ABI.md) to STATS. */
export function stats(): void {
  let c = E.counters;
  let v = E.version;
  let f = STATS;
  store<f64>(f, <f64>E.lastSeq, 0);
  let sealed = E.imm;
  store<f64>(f, <f64>(E.mem.entries + (sealed != null ? sealed.entries : 0)), 8);
  store<f64>(f, <f64>(E.mem.bytes + (sealed != null ? sealed.bytes : 0)), 16);
  store<f64>(f, <f64>E.snapshotCount(), 24);
  store<f64>(f, <f64>E.iteratorCount(), 32);
  store<f64>(f, <f64>c.puts, 40);
  store<f64>(f, <f64>c.deletes, 48);
  store<f64>(f, <f64>c.gets, 56);
  store<f64>(f, <f64>c.flushes, 64);
  store<f64>(f, <f64>c.compactions, 72);
  store<f64>(f, <f64>c.userBytes, 80);
  store<f64>(f, <f64>c.bytesFlushed, 88);
  store<f64>(f, <f64>c.bytesCompacted, 96);
  store<f64>(f, <f64>E.memoryInUse(), 104);
  store<f64>(f, <f64>(<u64>memory.size() << 16), 112);
  store<f64>(f, <f64>MAX_LEVELS, 120);
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    let entries: u64 = 0;
    for (let i = 0; i < runs.length; i++) entries += unchecked(runs[i]).entries;
    let base = f + 128 + <usize>l * 24;
    store<f64>(base, <f64>runs.length, 0);
    store<f64>(base, <f64>entries, 8);
    store<f64>(base, <f64>v.levelBytes(l), 16);
  }
  let tail = f + 128 + <usize>MAX_LEVELS * 24;
  store<f64>(tail, E.compactionPending() ? 1 : 0, 0);
  store<f64>(tail, <f64>E.compactionInputBytes(), 8);
  store<f64>(tail, <f64>E.compactionBytesRead(), 16);
  store<f64>(tail, <f64>c.stalls, 24);
  let cache = tail + 32;
  store<f64>(cache, <f64>cacheCapacity, 0);
  store<f64>(cache, <f64>cacheBytes, 8);
  store<f64>(cache, <f64>cacheHits, 16);
  store<f64>(cache, <f64>cacheMisses, 24);
  store<f64>(cache, <f64>E.fileBackedRuns(), 32);
  let flushing = cache + 40;
  store<f64>(flushing, sealed != null ? 1 : 0, 0);
  store<f64>(flushing, <f64>E.flushBytesRead(), 8);
}

/** Sets the clock (ms since the epoch) compaction turns expired values into tombstones by,
 *  for stores with ttlMs (values prefixed by an f64 expiresAt); 0 turns expiry off. */
/** Linear memory to grow to in one step once the engine's allocations pass 8 MiB
 *  (memory-budget.ts, "grown once, ahead"); 0: none. */
export function set_memory_reserve(bytes: f64): void { setMemoryReserve(<u64>bytes); }

export function set_expiry_clock(now: f64): void {
  setExpiryClock(now >= 0 ? now : 0);
}
