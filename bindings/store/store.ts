// Store: the typed API over one engine instance (assembly/), opened by Store.open. This
// file holds its life cycle: open (with a restore from the changelog), restore, the
// checkpoint protocol, flush, compact, stats and close. The rest of the class is in the
// layers it extends (store-core.ts: state and shared internals; reads.ts; write-protocol.ts:
// the writes and the write protocol).
import { Status, instantiateEngine, engineModule, statusError, type EngineTuning } from '../engine/abi.js';
import { memoryReserveBytes } from '../engine/memory-reserve.js';
import { StrataError, invalid } from '../errors.js';
import { sinksOf, type ChangeRecord, type ChangelogSink, type ChangelogSource } from '../changelog/contract.js';
import { resolveTuning, checkStoreOptions, type StoreOptions } from './options.js';
import { decodeStats, type StoreStats } from './stats.js';
import { restoreInto, type RestoreOptions, type RestoreProgress } from '../changelog/restore.js';
import { Persistence } from '../storage/persistence.js';
import type { CheckpointMark } from '../storage/manifest-format.js';
import { StoreWrites } from './write-protocol.js';
import { BackgroundCompaction, type BackgroundDisk, type ImageRunFiles } from '../background/background.js';
import { defaultExecutor, defaultFileTasks, onByDefault, prepareAtOpen, workerAvailable } from '../background/executor.js';
import type { MergeExecutor } from '../background/job.js';

/** What checkpoint() made durable: the state through `seq`, in the directory (with `path`)
 *  and in every changelog sink; `time` is when it was recorded (ms since the epoch). */
export type Checkpoint = CheckpointMark;

/** Memtables the memory cap holds at least for run files to be written off the store's
 *  thread (by default it holds 32 or more). */
const FILE_WORKER_MEMTABLES = 16;

export type { Snapshot } from './snapshot.js';
export type { WriteOp } from './write-protocol.js';
export type { RangeOptions, RangeBounds } from './arguments.js';

export class Store<K = Uint8Array, V = Uint8Array> extends StoreWrites<K, V> {
  /** close() once started: a second call waits for the same close. */
  private closing: Promise<void> | undefined;
  /** Checkpoints run one at a time: each commits the runs its first step wrote. */
  private checkpointing: Promise<unknown> = Promise.resolve();
  /** In changelog mode (a directory whose log is its changelog): that changelog. */
  private logSource: ChangelogSource | undefined;

  static async open<K = Uint8Array, V = Uint8Array>(options: StoreOptions<K, V> = {}): Promise<Store<K, V>> {
    const { ttlMs, sweepMs } = checkStoreOptions(options as StoreOptions<unknown, unknown>);
    const sinks = sinksOf(options.changelog);
    const source = restoreSourceOf(options as StoreOptions<unknown, unknown>, sinks);
    if (options.onRestoreProgress !== undefined && typeof options.onRestoreProgress !== 'function') {
      throw invalid('onRestoreProgress must be a function');
    }
    if (source && options.path !== undefined && options.sync === true) {
      throw invalid('sync: true needs the local write-ahead log, but this store restores from its changelog, which is its log; '
        + 'make the changelog durable instead (e.g. FileChangelog with sync: true, then checkpoint()), or pass restoreFrom: false');
    }
    const t = resolveTuning(options as StoreOptions<unknown, unknown>);
    const engine = await instantiateEngine();
    const st = engine.init(t);
    if (st !== Status.OK) throw statusError(st, 'engine init');
    engine.setMemoryReserve(memoryReserveBytes(t.maxMemoryBytes));
    // Node's Persistence opens synchronously, OPFS's (persistence-browser.ts) asynchronously.
    const disk = options.path === undefined ? undefined
      : await Persistence.open(options.path, engine, { sync: options.sync === true, logged: source === undefined, ttl: ttlMs > 0, blockCacheBytes: options.blockCacheBytes === undefined ? undefined : t.blockCacheBytes, memtableBytes: t.memtableBytes });
    const store = new Store<K, V>(engine, options, disk);
    // The sink restored from is appended to last: a write another sink refuses never reaches
    // it, so a reopen cannot bring back a write whose call threw.
    if (source !== undefined) store.hooks.moveLast(source as unknown as ChangelogSink);
    if (disk && source !== undefined) store.logSource = source;
    try {
      if (source !== undefined) {
        if (disk) await checkReachesCheckpoint(source, store.partitionNo, engine.lastSeq(), options.path!);
        // The records after what the directory (its last checkpoint) holds; then a
        // checkpoint, so the next open starts from here.
        await restoreInto(engine, source.read(store.partitionNo, engine.lastSeq() + 1),
          store.restoreOptions({ onProgress: options.onRestoreProgress }), () => store.checkOpen());
        if (disk) await store.checkpoint();
      }
      store.setExpiryClock();
      if (ttlMs > 0 && sweepMs > 0) store.startExpirySweeps(sweepMs);
      await store.startBackground(options.background, t);
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }

  /** Hands compactions to a worker (StoreOptions.background), where one can start. By
   *  default only in Node for a store with a directory and its log: its jobs travel as files;
   *  in memory every input and output is copied between the threads (docs/LSM.md,
   *  "Background compaction"). In browsers (a dedicated Worker) only when asked for; an OPFS
   *  store's jobs travel as images, its input files read here. With a log in Node, run files
   *  and manifests go to the file worker too. */
  private async startBackground(option: boolean | MergeExecutor | undefined, t: EngineTuning): Promise<void> {
    if (option === false || !t.autoCompaction) return;
    if (option === undefined && !(onByDefault && workerAvailable && this.disk !== undefined && this.logged)) return;
    if (option === true && !workerAvailable) return;
    const disk = this.disk as (typeof this.disk & Partial<BackgroundDisk> & Partial<ImageRunFiles>) | undefined;
    const byFile = typeof disk?.stageRunFile === 'function';
    const byImage = typeof disk?.readRunFile === 'function';
    if (disk !== undefined && !byFile && !byImage) return;
    const module = await engineModule();
    const make = typeof option === 'object' ? () => option : () => defaultExecutor(module);
    this.background = new BackgroundCompaction(this.engine, make, t, byFile ? disk as BackgroundDisk : undefined,
      byImage ? disk as ImageRunFiles : undefined);
    if (prepareAtOpen && typeof option !== 'object') await this.background.prepare();
    if (!byFile) return;
    // With a log its run files and manifests go to the file worker as well
    // (storage/file-tasks.ts), unless the memory cap is tight: runs wait in memory for their
    // files there, and under a cap of a few memtables that held writes back (memory-cap.test.ts).
    const roomy = t.maxMemoryBytes >= FILE_WORKER_MEMTABLES * t.memtableBytes;
    const tasks = typeof option === 'object' ? option.fileTasks : disk?.logged && roomy ? defaultFileTasks() : undefined;
    if (tasks !== undefined && disk?.logged) disk.useFileTasks!(tasks);
  }

  /** @internal Starts the periodic expiry sweeps (a standby starts them when promoted). */
  startExpirySweeps(intervalMs: number): void {
    if (this.ttlMs === 0 || intervalMs <= 0 || this.closed) return;
    this.sweeper.start(intervalMs);
  }

  // ---- changelog hook ------------------------------------------------------------------

  /** Calls `listener` synchronously after every commit with that commit's records. */
  onChange(listener: (records: ChangeRecord[]) => void): () => void {
    this.checkOpen();
    if (typeof listener !== 'function') throw invalid('onChange expects a function');
    return this.hooks.listen(listener);
  }

  /**
   * Bulk-loads changelog records, keeping their sequence numbers as the keys' versions.
   * Hooks and sinks are bypassed. Records at or below the store's last sequence count as
   * already applied and are skipped, so replaying an overlapping tail is harmless. The
   * record's `partition` is not checked: a Store takes whatever source it is given.
   * A failed chunk (bad record, out of memory) leaves every earlier chunk applied.
   * Writes made while an async source is awaited take sequences above the restored ones,
   * after which older records would be skipped: restore before serving writes.
   */
  async restore(source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>,
                options?: RestoreOptions): Promise<RestoreProgress> {
    const progress = await this.restoreRecords(source, options);
    await this.restored();
    return progress;
  }

  /** In changelog mode the changelog is the log, and the restore ends with a checkpoint: a
   *  record it does not hold (a seq past its lastSeq: another source's) would put the
   *  checkpoint ahead of it, and the next open would refuse the directory (CORRUPTION). So
   *  such a record is refused (INVALID_ARGUMENT) before it is applied; records it holds (a
   *  task or standby catching up on it) pass. A changelog without lastSeq is not checked. */
  private async heldByChangelog(source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>): Promise<Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>> {
    const log = this.logSource as { lastSeq?: (p: number) => number | Promise<number> } | undefined;
    if (typeof log?.lastSeq !== 'function' || typeof source !== 'object' || source === null) return source; // restoreInto refuses a bad source
    const bound = await log.lastSeq(this.partitionNo);
    if (typeof bound !== 'number') return source;
    const check = (r: ChangeRecord): ChangeRecord => {
      if (typeof r?.seq === 'number' && r.seq > bound) {
        throw invalid(`restore in changelog mode takes only records its changelog holds (seq ≤ ${bound} in partition ${this.partitionNo}), `
          + `not seq ${r.seq}: its changelog is its log, so write other records through it (put, write) instead`);
      }
      return r;
    };
    if (Symbol.asyncIterator in source) return (async function* () { for await (const r of source) yield check(r); })();
    return (function* () { for (const r of source) yield check(r); })();
  }

  /** @internal restore() without its last step, for callers restoring in several calls. */
  async restoreRecords(source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>,
                       options?: RestoreOptions): Promise<RestoreProgress> {
    this.checkOpen();
    const disk = this.disk;
    const opts = this.restoreOptions(options ?? {});
    if (!disk || !this.logged) {
      disk?.checkWritable();
      return restoreInto(this.engine, await this.heldByChangelog(source), opts, () => this.checkOpen());
    }
    disk.checkWritable();
    this.background?.settle(); // a restore's ingest merges here
    const progress = await restoreInto(this.engine, source, opts, () => this.checkOpen(), {
      log: (image, count, firstSeq, lastSeq) => disk.logRestore(image, count, firstSeq, lastSeq),
      unlog: (mark) => disk.unlog(mark),
      applied: () => disk.afterChange(),
    });
    await disk.flush(); // a restore is durable when it resolves
    return progress;
  }

  /** @internal The last step of restore(): without a log, a checkpoint makes it durable. */
  async restored(): Promise<void> {
    if (this.disk && !this.logged) await this.checkpoint();
  }

  // ---- maintenance ---------------------------------------------------------------------

  async flush(): Promise<void> {
    this.checkOpen();
    if (this.disk && !this.logged) { await this.checkpoint(); return; }
    this.setExpiryClock();
    const st = this.engine.flush();
    if (st !== Status.OK) throw statusError(st, 'flush', this.engine);
    this.background?.afterCall();
    if (this.disk) await this.disk.flush();
    await this.hooks.flush();
  }

  /**
   * Makes the state through the last write durable together with its changelog position:
   *   1. the memtable becomes a run, and (with `path`) every run is written to its file;
   *   2. every changelog sink is flushed, so the changelog holds the writes through `seq`;
   *   3. (with `path`) the manifest records the checkpoint, atomically.
   * The order is the point: the position is recorded only once both the local state and the
   * changelog hold everything up to it, so a crash between any two steps leaves the previous
   * checkpoint, and reopening restores the changelog after it (docs/API.md, "Checkpoints").
   * Writes may go on while step 2 is awaited; they belong to the next checkpoint.
   */
  async checkpoint(): Promise<Checkpoint> {
    this.checkOpen();
    const run = this.checkpointing.then(() => this.checkpointSteps(), () => this.checkpointSteps());
    this.checkpointing = run.catch(() => {});
    return run;
  }

  private async checkpointSteps(): Promise<Checkpoint> {
    this.checkOpen();
    if (this.hooks.failure) throw this.hooks.failure;
    this.setExpiryClock();
    const st = this.engine.flush();
    if (st !== Status.OK) throw statusError(st, 'checkpoint flush', this.engine);
    this.background?.afterCall();
    const pending = this.disk ? await this.disk.beginCheckpoint() : { seq: this.engine.lastSeq(), levels: [] };
    await this.hooks.flush(); // fails if a sink lost a record: the position is then not held
    if (!this.disk) return { seq: pending.seq, time: Date.now() };
    this.checkOpen(); // closed while the sinks flushed: close() made its own checkpoint
    return await this.disk.commitCheckpoint(pending, Date.now());
  }

  async compact(): Promise<void> {
    this.checkOpen();
    this.disk?.checkWritable();
    this.setExpiryClock();
    this.background?.settle(); // its job would be dropped by the merge of everything
    const st = this.engine.compact();
    if (st !== Status.OK) throw statusError(st, 'compact', this.engine);
    // The merged runs are written out now rather than a slice per later write: a compacted
    // store should be on disk (and its runs out of memory) when this resolves.
    if (this.disk) await this.disk.flush();
  }

  stats(): StoreStats {
    this.checkOpen();
    const background = this.engine.backgroundError();
    const stats = decodeStats(this.engine.view, this.engine.statsPtr(), this.hooks.errors, background);
    if (this.background) {
      const files = (this.disk as Partial<BackgroundDisk> | undefined)?.fileTaskStats?.();
      stats.background = { ...this.background.stats, fileTasks: files?.tasks ?? 0, fileBytes: files?.bytes ?? 0 };
    }
    return stats;
  }

  /** Closes the store: with a changelog as the log a last checkpoint, then the directory
   *  (everything acknowledged made durable) and every sink (flushed, closed), each tried
   *  whatever the others did. Rejects with the first failure, after releasing everything;
   *  a close that resolves lost nothing. Idempotent: later calls get the same promise. */
  close(): Promise<void> {
    const refused = this.closeRefusal();
    if (refused !== undefined) return Promise.reject(refused);
    this.closing ??= this.closeSteps();
    return this.closing;
  }

  /** @internal Why close() is refused now, or undefined: a call from a sink's append, or
   *  from a fold (which reads its chain in place; a compaction's fold runs inside an engine
   *  call), where a close (a flush, the files closed) would pull the state from under it.
   *  Stores built on Stores check it before they start closing theirs. */
  closeRefusal(): StrataError | undefined {
    if (this.hooks.appending) return invalid('a changelog sink called close() from append(): the write it is taking is not applied yet');
    if (this.merges.folding) return invalid('a merge operator called close(): operators must be pure functions of their arguments');
    return undefined;
  }

  private async closeSteps(): Promise<void> {
    let failure: unknown;
    if (this.disk && !this.logged && this.hooks.failure === undefined) {
      // The changelog is the log: what is not checkpointed would come back from it, but a
      // checkpoint now makes the next open quick.
      try { await this.checkpoint(); } catch (err) { failure = err; }
    }
    this.background?.close(); // waits for the job out and installs it
    this.closed = true;
    this.sweeper.stop();
    for (const it of [...this.iterators]) it.detach();
    for (const s of [...this.snapshots]) s.detach();
    this.iterators.length = 0;
    this.snapshots.clear();
    if (this.disk) {
      this.engine.flush(); // on OUT_OF_MEMORY the log still holds the memtable's writes
      try { await this.disk.close(); } catch (err) { failure ??= err; }
    }
    const hooks = await this.hooks.close();
    failure ??= hooks;
    if (failure !== undefined) throw failure;
  }
}

/** The source open() restores from (StoreOptions.restoreFrom), or undefined for none. */
function restoreSourceOf(options: StoreOptions<unknown, unknown>, sinks: ChangelogSink[]): ChangelogSource | undefined {
  const r = options.restoreFrom;
  if (r === false) return undefined;
  if (r !== undefined) {
    if (r === null || typeof (r as ChangelogSource).read !== 'function') {
      throw invalid('restoreFrom must be a changelog source (an object with read(partition, fromSeq)) or false');
    }
    return r;
  }
  if (options.path === undefined) return undefined;
  return sinks.find((s) => typeof (s as Partial<ChangelogSource>).read === 'function') as ChangelogSource | undefined;
}

/**
 * A changelog that ends before the directory's checkpoint (`seq`) has lost records the
 * checkpoint says it held (its step 2 flushed them there): damaged or cut short, or it is
 * another changelog. Opening would restore nothing and go on ahead of it, so every replica
 * of it would lack those records, and the next write would leave a gap in it: CORRUPTION
 * instead. Checked with the source's lastSeq(partition) where it has one (FileChangelog,
 * MemoryChangelog, NatsChangelog); other sources are taken on trust.
 */
async function checkReachesCheckpoint(source: ChangelogSource, partition: number, seq: number, path: string): Promise<void> {
  const lastSeq = (source as { lastSeq?: (p: number) => number | Promise<number> }).lastSeq;
  if (seq === 0 || typeof lastSeq !== 'function') return;
  const last = await lastSeq.call(source, partition);
  if (typeof last !== 'number' || last >= seq) return;
  const dir = (source as { dir?: unknown }).dir;
  throw new StrataError('CORRUPTION', `the changelog${typeof dir === 'string' ? ` in ${dir}` : ''} ends at seq ${last} of partition ${partition}, `
    + `before the checkpoint at seq ${seq} in ${path}: it has lost records the checkpoint says it held (restoreFrom: false opens the directory alone)`);
}
