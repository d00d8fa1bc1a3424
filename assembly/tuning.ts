// The engine's tuning constants, each with why it has that value, in one place so that a
// change of one is seen next to the others it interacts with (docs/LSM.md explains the
// mechanisms). Defaults of what a store may configure (memtable size, level shape, block
// size, cache) are here too, as fallbacks: a store passes its own at open (index.ts init;
// the host's defaults and their reasons: docs/API.md).
// INVARIANT: a leaf module (imports nothing), so every other module may read it.

// ---- level shape (defaults of Config, state.ts) -----------------------------------------

/** 4 MiB: LevelDB's write buffer; its flush (17–18 ms whole, docs/PERFORMANCE.md) is the write path's regular
 *  pause, and every slice size below scales with it. */
export const DEFAULT_MEMTABLE_BYTES: u32 = 4 << 20;
/** 4 runs, LevelDB's kL0_CompactionTrigger: every read probes level 0 run by run. */
export const DEFAULT_LEVEL0_TRIGGER: i32 = 4;
/** 16 MiB for level 1: four memtables' worth, so a level-0 compaction reads about as much of
 *  level 1 as of level 0 (paceFactor). */
export const DEFAULT_LEVEL_BASE_BYTES: u64 = 16 << 20;
/** 10×, LevelDB's: bounds space amplification to about 1.1 at the cost of ~11 bytes read per
 *  byte moved down a level. */
export const DEFAULT_LEVEL_MULTIPLIER: u32 = 10;

// ---- runs and the block cache (defaults of CompactionConfig, compaction.ts) -----------------

/** 4 KiB data blocks: one page per block read on demand, and a point lookup decodes one. */
export const DEFAULT_BLOCK_BYTES: u32 = 4096;
/** 10 bloom bits per key: about a 1% false-positive rate, so a lookup reads ~0.01 blocks of
 *  each run that lacks the key. */
export const DEFAULT_BITS_PER_KEY: u32 = 10;
/** 8 MiB output runs: twice the default memtable, the host's default for a store with a
 *  path (it sets its own: docs/API.md). */
export const DEFAULT_RUN_TARGET_BYTES: u64 = 8 << 20;
/** 64 MiB block cache (the host sets it, at most an 8th of the cap: docs/API.md). */
export const DEFAULT_CACHE_BYTES: u64 = 64 << 20;
/** Sequential reads of a file-backed run (compactions) take up to 256 KiB of whole blocks
 *  per host read; under a small cap a 64th of it (at least 16 KiB), since a level-0
 *  compaction holds one such chunk per input run (run.ts readaheadBytes). */
export const READAHEAD_CAP_SHIFT: u64 = 6;
export const READAHEAD_MIN: u64 = 16 << 10;
export const READAHEAD_MAX: u64 = 256 << 10;

// ---- memory cap reserves (memory-budget.ts, "Reserves") ------------------------------------

/** 256 KiB that writes leave free below the cap, so at the cap reads (iterator bounds,
 *  merge state) still get memory: a full store answers reads and refuses writes. */
export const READ_RESERVE: u64 = 256 << 10;
/** A read call stops taking blocks into memory after 64 KiB (an iterator's batch ends
 *  early, even empty): blocks read in a call stay until the call returns (block-cache.ts),
 *  so a scan over large values or many hidden entries in one call could otherwise need more
 *  than the read reserve. The next call, a safe point, evicts them. */
export const READ_CALL_BYTES: u64 = 64 << 10;
/** The shrink reserve, which only deletes may take: a 16th of the cap, at least 64 KiB, at
 *  most 16 MiB, so that at the cap thousands of small keys can still be deleted before a
 *  flush. */
export const SHRINK_CAP_SHIFT: u64 = 4;
export const SHRINK_MIN: u64 = 64 << 10;
export const SHRINK_MAX: u64 = 16 << 20;

// ---- pacing: flush and compaction in slices ----------------------------------------------

/** 16 bytes: what a write owes compaction per entry beyond its key and value, the same 16
 *  bytes Merger counts per entry read, so that debt and slices are in one unit. */
export const ENTRY_OVERHEAD: u64 = 16;
/** 2 bytes of the sealed memtable merged per byte written: its flush ends after half a
 *  memtable of writes, well before the next seal needs it done. */
export const FLUSH_PACE: u64 = 2;
/** 1.5× the estimated steady-state need (paceFactor): compaction keeps ahead of a steady
 *  fill, so level 0 stays near its trigger. */
export const PACE_MARGIN: f64 = 1.5;
/** 3: LevelDB's stop trigger is 12 runs at a trigger of 4. Back-pressure starts when level 0
 *  holds level0Trigger × 3 runs, 2 × level0Trigger of them flushed while the compaction ran. */
export const L0_STOP_RUNS: i32 = 3;
/** With a background worker (remote-compaction.ts), level 0 absorbs bursts longer, as
 *  RocksDB's triggers (slowdown at 20 files, stop at 36, with 4 to compact): writes slow
 *  down from 5 × level0Trigger runs and wait from 9 ×. One compaction at a time means level
 *  0 keeps growing while the worker merges a deeper level; at 3 × it slowed writes in 9,000
 *  of 10M puts (bench:growth). */
export const L0_SLOWDOWN_RUNS_BG: i32 = 5;
export const L0_STOP_RUNS_BG: i32 = 9;
// Slice sizes scale with the memtable (with the default 4 MiB: 4 KiB, 1 MiB, 2 MiB).
/** A 1024th of the memtable at least per slice, so writes of a few bytes still move it on
 *  and a slice's fixed cost stays small beside its reading. */
@inline export function minSlice(memtableBytes: u32): u64 { return <u64>memtableBytes >> 10; }
/** A quarter of the memtable at most per slice, unless the write's own share is larger (a
 *  large batch pays twice its share, so large writes cannot outrun compaction). */
@inline export function maxSlice(memtableBytes: u32): u64 { return <u64>memtableBytes >> 2; }
/** Half a memtable per write under back-pressure: about as long as a flush, instead of
 *  letting level 0 grow without bound. */
@inline export function stopSlice(memtableBytes: u32): u64 { return <u64>memtableBytes >> 1; }

// ---- merges ---------------------------------------------------------------------------

/** 64 KiB: a merge's scratch besides its output and readahead (the builder's and key
 *  copies' buffers), counted so admission leaves room for it. */
export const MERGE_SCRATCH_BYTES: u64 = 64 << 10;
/** More than 4 sources are merged through a tournament tree (log₂ k comparisons a step,
 *  docs/LSM.md); up to 4 the plain merging iterator does as well. */
export const TREE_MERGE_ABOVE: i32 = 4;

// ---- restore and bulk ingest ------------------------------------------------------------

/** 64 records at least for a restore chunk to be ingested as a run: a smaller run costs
 *  more in level 0 (a probe per read) than its memtable inserts do. */
export const INGEST_MIN_RECORDS: u32 = 64;
/** ... and at least a quarter of the memtable (memtableBytes >> 2): smaller chunks go
 *  through it, where they cost one flush among many. */
export const INGEST_MIN_FILL_SHIFT: u32 = 2;
/** 64 ingested runs in level 0 while restoring before it is compacted: a restore merges its
 *  runs about once instead of at every level0Trigger runs. */
export const BULK_L0_RUNS: i32 = 64;
/** ... and up to 256 MiB of them (or an eighth of the memory cap, if smaller), so the one
 *  merge of level 0 fits beside everything else. */
export const BULK_L0_BYTES: u64 = 256 << 20;
export const BULK_L0_CAP_SHIFT: u64 = 3;
/** restore_chunk_bytes: a 32nd of the memory cap, since a chunk is held about three times
 *  over while applied (docs/ABI.md); clamped to 256 KiB … 16 MiB. */
export const RESTORE_CHUNK_CAP_SHIFT: u64 = 5;
export const RESTORE_CHUNK_MIN: u64 = 256 << 10;
export const RESTORE_CHUNK_MAX: u64 = 16 << 20;
