// StoreOptions and their defaults (docs/API.md lists each with its reason).
import type { MergeOperator } from './merge-operators.js';
import type { Codec } from '../codecs.js';
import type { ChangeRecord, ChangelogSink, ChangelogSource } from '../changelog/contract.js';
import type { RestoreProgress } from '../changelog/restore.js';
import { invalid, shown } from '../errors.js';

export interface StoreOptions<K, V> {
  /** Directory (Node) or OPFS directory name (browser); none = in memory. */
  path?: string;
  keyCodec?: Codec<K>;
  valueCodec?: Codec<V>;
  /** true: a write call returns only once it is durable. */
  sync?: boolean;
  changelog?: ChangelogSink | ChangelogSink[];
  /**
   * Where open() restores from: the store reads `restoreFrom.read(partition, fromSeq)` for
   * every record after what it holds. With `path`, the changelog is then the store's log:
   * writes touch no local file, checkpoint() makes the local state durable, and a reopen
   * loads the last checkpoint and restores only the records after it (docs/API.md,
   * "Checkpoints"). Default, with `path`: the first `changelog` sink that has `read`.
   * `false`: never restore at open; with `path` the store keeps its own write-ahead log.
   */
  restoreFrom?: ChangelogSource | false;
  /**
   * Time to live of every entry written, in ms: an entry is invisible to reads once it is
   * this old, compaction drops it, and the store deletes it through the normal write path
   * (so a tombstone reaches the changelog; docs/API.md, "TTL"). A directory remembers
   * whether it was created with a ttl; the value itself may change between opens.
   */
  ttlMs?: number;
  /**
   * Merge operators by name, for `merge(key, operand, name)` (docs/API.md, "Merge
   * operators"), besides the built-in `add`, `max`, `min` and `append`. Each folds an
   * operand into the value before it, both decoded by the value codec, and must be pure.
   * A store whose entries hold operands of an operator must be opened with it to read them.
   * A store with exactly one operator of its own uses it when merge() names none.
   */
  mergeOperators?: Record<string, MergeOperator<V>>;
  /** How often expired entries are looked for and deleted, in ms (each pass scans a slice
   *  of about 5 ms); 0 leaves it to purgeExpired(). Default 1000. */
  expirySweepMs?: number;
  /** Progress of the restore open() runs (records, bytes, rate), after every chunk. */
  onRestoreProgress?: (progress: RestoreProgress) => void;
  /** Partition number written into change records (PartitionedStore sets it): a Kafka
   *  partition, 0 to 2^31 - 1. Default 0. */
  partition?: number;
  /**
   * Called when an onChange listener throws. Listeners run after their write has committed
   * (docs/LSM.md, "The write protocol"), so a listener's failure cannot undo it and is not
   * the writer's error: the write returns normally, stats().counters.listenerErrors counts
   * the failure, and it is handed here. Default: a process warning, once per store.
   */
  onListenerError?: (error: unknown, records: ChangeRecord[]) => void;
  /** The memtable becomes a run once it holds this many bytes. Default 4 MiB, or a 32nd of
   *  maxMemoryBytes when that is less (flushes and compactions must fit under the cap). */
  memtableBytes?: number;
  /** Target size of a data block. Default 4 KiB. */
  blockBytes?: number;
  /** Bloom filter bits per key; 0 disables the filters. Default 10 (about 1% false positives). */
  bloomBitsPerKey?: number;
  /** Level-0 runs that trigger a compaction into level 1. Default 4. */
  level0CompactionTrigger?: number;
  /** Target bytes of level 1. Default 4 × memtableBytes, at most maxMemoryBytes / 8 (level
   *  0's compaction rewrites level 1 and must fit under the cap). */
  levelBaseBytes?: number;
  /** Each level is this many times larger than the one above. Default 10. */
  levelSizeMultiplier?: number;
  /** Compactions cut their output into runs of about this size. Default: memtableBytes / 2
   *  in memory (smaller runs make smaller compactions, whose output coexists with their
   *  inputs until they end: less peak memory), 2 × memtableBytes with a `path` (fewer files);
   *  at most maxMemoryBytes / 64, since a compaction of one run into the next level rewrites
   *  about levelSizeMultiplier + 1 runs and must fit under the cap. */
  runTargetBytes?: number;
  /** Compact after flushes (default true); false leaves compaction to compact(). */
  autoCompaction?: boolean;
  /** Cap on the engine's memory. Puts are refused with OUT_OF_MEMORY while they would leave
   *  less than the flush and level-0 compaction need plus a reserve that only deletes may
   *  use, so a store at its cap can always be flushed, compacted, shrunk and reopened
   *  (docs/LSM.md, "Memory cap"). Default 3.5 GiB. */
  maxMemoryBytes?: number;
  /** Stores with a Node `path`: bytes of data blocks the block cache keeps (blocks of runs
   *  already in their files are read from there on demand). Default 64 MiB; at most an
   *  eighth of maxMemoryBytes. */
  blockCacheBytes?: number;
  /** Compactions merged on a background worker thread (Node `worker_threads`, started at the
   *  first compaction), so writes pay only the memtable and its flush (docs/LSM.md,
   *  "Background compaction"). Default: true for a Node store with a `path` and its log,
   *  false in memory (where every run travels between the threads as a copy) and in
   *  browsers; false merges them in slices on the store's thread. Compactions of runs holding merge
   *  operands stay on the store's thread (its operators fold them). An executor object runs
   *  the jobs where its caller says (the interleaving tests' InlineExecutor). */
  background?: boolean | MergeExecutor;
}

export type { EngineTuning } from '../engine/abi.js';
import type { MergeExecutor } from '../background/job.js';

function intOption(o: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`option ${name} must be an integer in [${min}, ${max}], got ${shown(v)}`);
  }
  return v;
}

import type { EngineTuning } from '../engine/abi.js';

export function resolveTuning(options: StoreOptions<unknown, unknown>): EngineTuning {
  const o = options as Record<string, unknown>;
  const maxMemoryBytes = intOption(o, 'maxMemoryBytes', 3584 * 2 ** 20, 1 << 20, 4 * 2 ** 30);
  const memtableBytes = intOption(o, 'memtableBytes', Math.min(4 << 20, Math.floor(maxMemoryBytes / 32)), 256, 1 << 30);
  const autoCompaction = o.autoCompaction ?? true;
  if (typeof autoCompaction !== 'boolean') throw invalid('option autoCompaction must be a boolean');
  return {
    memtableBytes,
    blockBytes: intOption(o, 'blockBytes', 4096, 64, 1 << 24),
    bloomBitsPerKey: intOption(o, 'bloomBitsPerKey', 10, 0, 64),
    level0CompactionTrigger: intOption(o, 'level0CompactionTrigger', 4, 1, 1000),
    levelBaseBytes: intOption(o, 'levelBaseBytes', Math.min(4 * memtableBytes, Math.floor(maxMemoryBytes / 8)), 1, 2 ** 40),
    levelSizeMultiplier: intOption(o, 'levelSizeMultiplier', 10, 2, 1000),
    runTargetBytes: intOption(o, 'runTargetBytes', Math.min(o.path === undefined ? Math.floor(memtableBytes / 2) : 2 * memtableBytes, Math.floor(maxMemoryBytes / 64)), 1, 2 ** 32),
    autoCompaction,
    maxMemoryBytes,
    blockCacheBytes: intOption(o, 'blockCacheBytes', 64 << 20, 0, 4 * 2 ** 30),
  };
}

/** Kafka partitions are int32. */
const MAX_PARTITION = 2 ** 31 - 1;
/** Longer timer delays are clamped to 1 ms by Node and browsers. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks the options Store.open takes besides the tuning (INVALID_ARGUMENT); returns the
 *  ttl and sweep interval they give. The changelog options are checked with the sinks. */
export function checkStoreOptions(options: StoreOptions<unknown, unknown>): { ttlMs: number; sweepMs: number } {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    throw invalid('path must be a non-empty string (a directory)');
  }
  if (options.sync !== undefined && typeof options.sync !== 'boolean') throw invalid('sync must be a boolean');
  const bg = options.background;
  if (bg !== undefined && typeof bg !== 'boolean' && typeof (bg as Partial<MergeExecutor> | null)?.submit !== 'function') {
    throw invalid('background must be a boolean');
  }
  for (const [name, c] of [['keyCodec', options.keyCodec], ['valueCodec', options.valueCodec]] as const) {
    if (c !== undefined && (typeof c?.encode !== 'function' || typeof c?.decode !== 'function')) {
      throw invalid(`${name} must have encode and decode functions`);
    }
  }
  const p = options.partition ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > MAX_PARTITION) throw invalid(`partition must be an integer from 0 to ${MAX_PARTITION} (a Kafka partition), got ${shown(p)}`);
  if (options.onListenerError !== undefined && typeof options.onListenerError !== 'function') {
    throw invalid('onListenerError must be a function');
  }
  const ttlMs = options.ttlMs ?? 0;
  if (options.ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 1)) {
    throw invalid(`ttlMs must be a positive integer (ms), got ${shown(options.ttlMs)}`);
  }
  const sweepMs = options.expirySweepMs ?? 1000;
  if (!Number.isSafeInteger(sweepMs) || sweepMs < 0 || sweepMs > MAX_TIMER_MS) {
    // Timers clamp longer delays to 1 ms: a sweep every millisecond.
    throw invalid(`expirySweepMs must be an integer from 0 to ${MAX_TIMER_MS} (ms), got ${shown(sweepMs)}`);
  }
  return { ttlMs, sweepMs };
}
