// StoreStats: counters and the LSM shape, decoded from the engine's stats area
// (docs/ABI.md, "stats layout": f64 slots).
import type { BackgroundStats } from '../background/background.js';
import { MAX_LEVELS } from '../engine/abi.js';

export interface LevelStats { level: number; runs: number; entries: number; bytes: number }

export interface StoreStats {
  /** Last sequence number assigned. */
  sequence: number;
  /** Both memtables: the one taking writes and the sealed one being flushed, if any. */
  memtable: { entries: number; bytes: number };
  /** The flush of the sealed memtable, advanced a slice per write (docs/LSM.md, "Flush in
   *  slices"): how many are running (0 or 1 per partition) and the bytes of entries read
   *  so far. */
  flush: { running: number; bytesRead: number };
  /** Level 0 first; every level is listed, empty or not. */
  levels: LevelStats[];
  runs: number;
  runBytes: number;
  snapshots: number;
  iterators: number;
  counters: {
    puts: number; deletes: number; gets: number; flushes: number; compactions: number;
    userBytesWritten: number; bytesFlushed: number; bytesCompacted: number; listenerErrors: number;
    /** Writes that did extra compaction work because level 0 filled while it was behind. */
    compactionStalls: number;
  };
  /** (bytesFlushed + bytesCompacted) / userBytesWritten: bytes the LSM wrote per byte written. */
  writeAmplification: number;
  /** runBytes / bytes of the deepest non-empty level (RocksDB's estimate); 1 with no runs. */
  spaceAmplification: number;
  /** Bytes the engine has allocated (arenas, blocks, blooms, buffers). */
  engineBytes: number;
  /** Size of the Wasm linear memory. */
  memoryBytes: number;
  /** The compaction in progress, advanced a slice per write (docs/LSM.md, "Compaction in
   *  slices"): how many are running (0 or 1; a partitioned store sums its partitions), the
   *  bytes of their input runs, and how many bytes of entries they have read so far. */
  compaction: { running: number; inputBytes: number; bytesRead: number };
  /** Data blocks of file-backed runs (stores with a `path`: Node or OPFS) held in memory. */
  blockCache: { capacity: number; bytes: number; hits: number; misses: number };
  /** Runs whose blocks live in their files, read through the block cache. */
  fileBackedRuns: number;
  /** Set once a compaction has met a damaged or unreadable run file (docs/API.md,
   *  "Background errors"): from then on writes, flush(), checkpoint() and compact() reject
   *  with this error until the store is reopened; reads go on. A partitioned store reports
   *  the first partition's. */
  backgroundError: { code: string; message: string } | undefined;
  /** Compactions merged on the background worker (StoreOptions.background; docs/LSM.md,
   *  "Background compaction"): absent when compaction runs in slices on the store's thread. */
  background?: BackgroundStats;
}

/** Slots after the levels (docs/ABI.md): the compaction in progress, the block cache, the flush in progress. */
const COMPACTION = 16 + MAX_LEVELS * 3;
const CACHE = COMPACTION + 4;
const FLUSH = CACHE + 5;

export function decodeStats(view: DataView, p: number, listenerErrors: number,
                            backgroundError?: { code: string; message: string }): StoreStats {
  const f = (slot: number) => view.getFloat64(p + slot * 8, true);
  const levels: LevelStats[] = [];
  let runs = 0, runBytes = 0, bottom = 0;
  for (let l = 0; l < MAX_LEVELS; l++) {
    const base = 16 + l * 3;
    const lv = { level: l, runs: f(base), entries: f(base + 1), bytes: f(base + 2) };
    levels.push(lv);
    runs += lv.runs;
    runBytes += lv.bytes;
    if (lv.bytes > 0) bottom = lv.bytes;
  }
  const userBytesWritten = f(10), bytesFlushed = f(11), bytesCompacted = f(12);
  return {
    sequence: f(0),
    memtable: { entries: f(1), bytes: f(2) },
    flush: { running: f(FLUSH), bytesRead: f(FLUSH + 1) },
    levels,
    runs,
    runBytes,
    snapshots: f(3),
    iterators: f(4),
    counters: {
      puts: f(5), deletes: f(6), gets: f(7), flushes: f(8), compactions: f(9),
      userBytesWritten, bytesFlushed, bytesCompacted, listenerErrors, compactionStalls: f(COMPACTION + 3),
    },
    writeAmplification: userBytesWritten > 0 ? (bytesFlushed + bytesCompacted) / userBytesWritten : 0,
    spaceAmplification: bottom > 0 ? runBytes / bottom : 1,
    engineBytes: f(13),
    memoryBytes: f(14),
    compaction: { running: f(COMPACTION), inputBytes: f(COMPACTION + 1), bytesRead: f(COMPACTION + 2) },
    blockCache: { capacity: f(CACHE), bytes: f(CACHE + 1), hits: f(CACHE + 2), misses: f(CACHE + 3) },
    fileBackedRuns: f(CACHE + 4),
    backgroundError,
  };
}
