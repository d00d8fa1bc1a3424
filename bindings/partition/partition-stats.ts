// The figures a PartitionedStore reports as one: its stats (each partition's StoreStats,
// summed, with the amplifications recomputed from the summed bytes) and the restore progress
// of its partitions at open (summed into one report).
// INVARIANT: every partition has the same levels (same options), so parts[0]'s level list
// indexes all of them; aggregateStats needs at least one part (N >= 1).
import type { StoreStats, LevelStats } from '../store/stats.js';
import type { BackgroundStats } from '../background/background.js';
import type { RestoreProgress } from '../changelog/restore.js';

export interface PartitionedStoreStats extends StoreStats {
  /**
   * Each partition's own stats, index = partition. The top-level figures are their sums
   * (`sequence` is then the count of sequence numbers assigned over all partitions), with
   * the amplifications recomputed from the summed bytes.
   */
  partitions: StoreStats[];
}

/** Sums the partitions' restore progress at open into one report. */
export class ProgressSum {
  private readonly parts: RestoreProgress[];
  private readonly started = performance.now();
  constructor(n: number, private readonly report: (p: RestoreProgress) => void) {
    this.parts = Array.from({ length: n }, () => ({ records: 0, applied: 0, bytes: 0, recordsPerSecond: 0 }));
  }
  reporter(i: number): (p: RestoreProgress) => void {
    return (p) => {
      this.parts[i] = p;
      const sum = (f: (x: RestoreProgress) => number) => this.parts.reduce((a, x) => a + f(x), 0);
      const records = sum((x) => x.records);
      this.report({ records, applied: sum((x) => x.applied), bytes: sum((x) => x.bytes),
        recordsPerSecond: records / Math.max((performance.now() - this.started) / 1000, 1e-9) });
    };
  }
}

export function aggregateStats(parts: StoreStats[]): PartitionedStoreStats {
  const sum = (f: (s: StoreStats) => number) => parts.reduce((acc, s) => acc + f(s), 0);
  const levels: LevelStats[] = parts[0].levels.map((l, i) => ({
    level: l.level,
    runs: sum((s) => s.levels[i].runs),
    entries: sum((s) => s.levels[i].entries),
    bytes: sum((s) => s.levels[i].bytes),
  }));
  const counters = { ...parts[0].counters };
  for (const name of Object.keys(counters) as (keyof StoreStats['counters'])[]) counters[name] = sum((s) => s.counters[name]);
  const runBytes = sum((s) => s.runBytes);
  const bottom = levels.reduce((b, l) => (l.bytes > 0 ? l.bytes : b), 0);
  return {
    sequence: sum((s) => s.sequence),
    memtable: { entries: sum((s) => s.memtable.entries), bytes: sum((s) => s.memtable.bytes) },
    flush: { running: sum((s) => s.flush.running), bytesRead: sum((s) => s.flush.bytesRead) },
    levels,
    runs: sum((s) => s.runs),
    runBytes,
    snapshots: sum((s) => s.snapshots),
    iterators: sum((s) => s.iterators),
    counters,
    writeAmplification: counters.userBytesWritten > 0 ? (counters.bytesFlushed + counters.bytesCompacted) / counters.userBytesWritten : 0,
    spaceAmplification: bottom > 0 ? runBytes / bottom : 1,
    engineBytes: sum((s) => s.engineBytes),
    memoryBytes: sum((s) => s.memoryBytes),
    compaction: {
      running: sum((s) => s.compaction.running),
      inputBytes: sum((s) => s.compaction.inputBytes),
      bytesRead: sum((s) => s.compaction.bytesRead),
    },
    blockCache: {
      capacity: sum((s) => s.blockCache.capacity), bytes: sum((s) => s.blockCache.bytes),
      hits: sum((s) => s.blockCache.hits), misses: sum((s) => s.blockCache.misses),
    },
    fileBackedRuns: sum((s) => s.fileBackedRuns),
    backgroundError: parts.find((s) => s.backgroundError)?.backgroundError,
    ...(parts.some((s) => s.background) ? { background: sumBackground(parts) } : {}),
    partitions: parts,
  };
}

/** The partitions' background compaction, summed: running when any has a job out, lost
 *  when any went back to slices (the first one's reason). */
function sumBackground(parts: StoreStats[]): BackgroundStats {
  const bg = parts.map((s) => s.background).filter((b): b is BackgroundStats => b !== undefined);
  const sum = (f: (b: BackgroundStats) => number) => bg.reduce((a, b) => a + f(b), 0);
  const lost = bg.find((b) => b.lost !== undefined)?.lost;
  return {
    jobs: sum((b) => b.jobs), failed: sum((b) => b.failed), running: bg.some((b) => b.running),
    bytesRead: sum((b) => b.bytesRead), bytesWritten: sum((b) => b.bytesWritten), busyMs: sum((b) => b.busyMs),
    stalls: sum((b) => b.stalls), stallMs: sum((b) => b.stallMs),
    fileTasks: sum((b) => b.fileTasks), fileBytes: sum((b) => b.fileBytes), mergedHere: sum((b) => b.mergedHere),
    ...(lost !== undefined ? { lost } : {}),
  };
}
