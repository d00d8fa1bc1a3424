// PartitionedStore: N Stores, one per Kafka partition, behind the Store API.
//
// Routing: a key lives in partition kafkaPartition(keyCodec.encode(key), N), the partition
// Kafka's default partitioner picks for the same key bytes, so partition i holds exactly
// the keys of topic partition i (co-partitioning) and its change records carry
// `partition: i`. Each partition is a Store with its own engine, sequence numbers and
// versions; N is fixed for the store's life, since changing it moves keys.
//
// Atomicity: putAll/deleteAll/write/deleteRange are atomic per partition, not across
// partitions. Every operation is encoded and size-checked before any partition is written,
// so bad input changes nothing; then each partition applies its share as one batch, in
// partition order, and listeners get one ChangeRecord[] per partition batch. A range's keys
// hash to every partition, so deleteRange writes a range tombstone (and a range record) in
// each.
//
// Order: range/all (and a snapshot's) merge the partitions' iterators in the unsigned byte
// order of encoded keys with a binary heap, O(log N) per entry. Every child is opened in
// one synchronous call, so the merged view is the whole store as of one instant.
//
// Beside it: partition-merge.ts (the merged iterator), partition-stats.ts (stats summed over
// the partitions, restore progress summed), shared-sink.ts (one user sink shared by all).
import { Store, type Snapshot, type WriteOp, type RangeOptions, type RangeBounds, type Checkpoint } from '../store/store.js';
import type { KeyValueIterator } from '../store/iterator.js';
import { mergePartitions, mergedRange } from './partition-merge.js';
import { codecs, type Codec } from '../codecs.js';
import { StrataError, invalid, shown } from '../errors.js';
import { compareBytes } from '../key-range.js';
import type { StoreOptions } from '../store/options.js';
import { sinksOf, type ChangeRecord, type ChangelogSink, type ChangelogSource } from '../changelog/contract.js';
import type { RestoreOptions, RestoreProgress } from '../changelog/restore.js';
import { kafkaPartition } from './murmur2.js';
import { aggregateStats, ProgressSum, type PartitionedStoreStats } from './partition-stats.js';
import { SharedSink } from './shared-sink.js';
import { checkPartitionCount } from './partition-count.js';

export type PartitionedStoreOptions<K, V> = StoreOptions<K, V> & {
  /** Number of partitions: the partition count of the Kafka topic this state follows. */
  partitions: number;
};

export type { PartitionedStoreStats } from './partition-stats.js';

/** Each partition is a Wasm instance with its own linear memory (1 MiB at first, plus a
 *  reserved address range): a cap keeps a typo from opening millions of them. */
const MAX_PARTITIONS = 4096;
/** restore() hands records to the partitions in chunks of at most this many records or
 *  bytes, so an unbounded source is never held in memory whole. */
const RESTORE_CHUNK_RECORDS = 4096;
const RESTORE_CHUNK_BYTES = 4 << 20;

export class PartitionedStore<K = Uint8Array, V = Uint8Array> {
  /** The number of partitions. */
  readonly partitions: number;
  /** INVARIANT: stores[i] was opened with `partition: i`; all share the same codecs. */
  private readonly stores: Store<K, V>[];
  private readonly valueCodec: Codec<V>;
  /** The user's sinks, closed once by close(); the partitions see them via SharedSink. */
  private readonly sinks: ChangelogSink[];
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(stores: Store<K, V>[], valueCodec: Codec<V>, sinks: ChangelogSink[]) {
    this.stores = stores;
    this.partitions = stores.length;
    this.valueCodec = valueCodec;
    this.sinks = sinks;
  }

  /**
   * Opens `options.partitions` Stores with the other options. A `path` gives each partition
   * the directory `<path>/partition-<i>`. `partition` must be omitted: it is set per Store.
   */
  static async open<K = Uint8Array, V = Uint8Array>(options: PartitionedStoreOptions<K, V>): Promise<PartitionedStore<K, V>> {
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    const n = options.partitions;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
      throw invalid(`partitions must be an integer in [1, ${MAX_PARTITIONS}], got ${shown(n)}`);
    }
    if (options.partition !== undefined) throw invalid('omit option partition: PartitionedStore numbers its partitions itself');
    // Non-empty, as Store.open requires: '' made the partitions' directories /partition-<i>,
    // at the root of the file system.
    if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
      throw invalid('path must be a non-empty string (a directory)');
    }
    const sinks = sinksOf(options.changelog);
    const shared = sinks.map((s) => new SharedSink(s));
    const { partitions: _, onRestoreProgress, ...base } = options;
    // The partitions see SharedSinks, which cannot be read: the default source (Store's
    // rule: with a path, the first readable sink) is picked here from the user's sinks.
    const restoreFrom = base.restoreFrom !== undefined || base.path === undefined ? base.restoreFrom
      : sinks.find((s) => typeof (s as Partial<ChangelogSource>).read === 'function') as ChangelogSource | undefined;
    if (base.path !== undefined) await checkPartitionCount(base.path, n);
    const progress = onRestoreProgress === undefined ? undefined : new ProgressSum(n, onRestoreProgress);
    const opened = await Promise.allSettled(Array.from({ length: n }, (_, i) => Store.open<K, V>({
      ...base,
      partition: i,
      changelog: shared,
      restoreFrom,
      onRestoreProgress: progress?.reporter(i),
      path: base.path === undefined ? undefined : `${base.path}/partition-${i}`,
    })));
    const stores = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(stores.map((s) => s.close()));
      throw failed.reason;
    }
    return new PartitionedStore<K, V>(stores, options.valueCodec ?? (codecs.bytes as unknown as Codec<V>), sinks);
  }

  /** The partition `key` belongs to: kafkaPartition(keyCodec.encode(key), partitions). */
  partitionFor(key: K): number {
    this.checkOpen();
    return kafkaPartition(this.encodeKey(key), this.partitions);
  }

  /** Partition `i`'s Store. Writing through it a key of another partition hides the key
   *  from this PartitionedStore's get/has (they look only in the key's own partition). */
  partition(i: number): Store<K, V> {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= this.partitions) {
      throw invalid(`partition must be an integer in [0, ${this.partitions}), got ${shown(i)}`);
    }
    return this.stores[i];
  }

  // ---- reads ---------------------------------------------------------------------------

  get(key: K): V | undefined { return this.storeFor(key).get(key); }
  has(key: K): boolean { return this.storeFor(key).has(key); }
  getVersioned(key: K): { value: V; version: number } | undefined { return this.storeFor(key).getVersioned(key); }

  getAll(keys: readonly K[]): (V | undefined)[] {
    this.checkOpen();
    if (!Array.isArray(keys)) throw invalid('getAll expects an array of keys');
    const groups = this.group(keys, (k) => this.encodeKey(k), true);
    const out = new Array<V | undefined>(keys.length);
    groups.forEach((indexes, p) => {
      const values = this.stores[p].getAll(indexes.map((i) => keys[i]));
      indexes.forEach((i, j) => { out[i] = values[j]; });
    });
    return out;
  }

  /** Store.range's two forms, over every partition, merged in key order. */
  range(bounds: RangeBounds<K>): KeyValueIterator<K, V>;
  range(from: K, to: K, options?: RangeOptions): KeyValueIterator<K, V>;
  range(from: K | RangeBounds<K>, to?: K, options?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return mergedRange(this.stores, from, to, options);
  }

  /** Store.prefixScan over every partition, merged in key order. */
  prefixScan(prefix: K, options?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return mergePartitions(this.stores, (s) => s.prefixScan(prefix, options), options);
  }

  all(options?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return mergePartitions(this.stores, (s) => s.all(options), options);
  }

  /** A snapshot of every partition, all taken at the same instant. */
  snapshot(): Snapshot<K, V> {
    this.checkOpen();
    const snaps: Snapshot<K, V>[] = [];
    try {
      for (const s of this.stores) snaps.push(s.snapshot());
    } catch (err) {
      for (const s of snaps) s.close();
      throw err;
    }
    return new PartitionedSnapshot(snaps, (key) => kafkaPartition(this.encodeKey(key), this.partitions));
  }

  // ---- writes --------------------------------------------------------------------------

  put(key: K, value: V): void { this.storeFor(key).put(key, value); }
  delete(key: K): void { this.storeFor(key).delete(key); }
  putIfVersion(key: K, value: V, expected: number): boolean { return this.storeFor(key).putIfVersion(key, value, expected); }
  deleteIfVersion(key: K, expected: number): boolean { return this.storeFor(key).deleteIfVersion(key, expected); }
  putIfAbsent(key: K, value: V): V | undefined { return this.storeFor(key).putIfAbsent(key, value); }
  getAndDelete(key: K): V | undefined { return this.storeFor(key).getAndDelete(key); }
  merge(key: K, operand: V, name?: string): void { this.storeFor(key).merge(key, operand, name); }

  /** Atomic per partition (see the file comment). */
  putAll(entries: Iterable<readonly [K, V]>): void {
    this.checkOpen();
    const groups = this.group(iterate(entries, 'putAll'), (entry) => {
      if (!Array.isArray(entry) || entry.length < 2) throw invalid('putAll expects [key, value] pairs');
      this.checkValue(entry[1]);
      return this.encodeKey(entry[0]);
    }, false);
    this.applyGroups(groups, (s, items) => s.putAll(items));
  }

  /** Atomic per partition (see the file comment). */
  deleteAll(keys: Iterable<K>): void {
    this.checkOpen();
    const groups = this.group(iterate(keys, 'deleteAll'), (k) => this.encodeKey(k), false);
    this.applyGroups(groups, (s, items) => s.deleteAll(items));
  }

  /** Atomic per partition (see the file comment). */
  write(ops: Iterable<WriteOp<K, V>>): void {
    this.checkOpen();
    const groups = this.group(iterate(ops, 'write'), (op) => {
      if (op === null || typeof op !== 'object') throw invalid('write expects { type, key, value? } operations');
      if (op.type === 'put') this.checkValue(op.value);
      else if (op.type === 'merge') this.stores[0].checkMergeOperand(op.value, op.operator);
      else if (op.type !== 'del') throw invalid(`unknown operation type ${shown((op as { type?: unknown }).type)}`);
      return this.encodeKey(op.key);
    }, false);
    this.applyGroups(groups, (s, items) => s.write(items));
  }

  /**
   * Deletes every key whose encoded bytes lie in [encode(from), encode(to)): one range
   * tombstone in every partition, since keys are hash-routed. Both bounds are encoded and
   * checked (from after to: INVALID_ARGUMENT; from = to deletes nothing) before any
   * partition is written. Atomic per partition (see the file comment): each partition's
   * sinks and listeners get its own record { partition: i, key: from, value: null,
   * rangeEnd: to }; a partition that fails does not stop the others, and the first error
   * is thrown once every partition has been tried.
   */
  deleteRange(from: K, to: K): void {
    this.checkOpen();
    const c = compareBytes(this.encodeKey(from), this.encodeKey(to));
    if (c > 0) throw invalid('deleteRange: from must not come after to');
    if (c === 0) return;
    this.applyGroups(new Map(this.stores.map((_, p) => [p, [0]])), (s) => s.deleteRange(from, to));
  }

  // ---- changelog -----------------------------------------------------------------------

  /** Listens to every partition; each partition's commits arrive as their own arrays. */
  onChange(listener: (records: ChangeRecord[]) => void): () => void {
    this.checkOpen();
    if (typeof listener !== 'function') throw invalid('onChange expects a function');
    const offs = this.stores.map((s) => s.onChange(listener));
    return () => { for (const off of offs) off(); };
  }

  /**
   * Routes each record to `partition(record.partition)` and restores it there. A record
   * must be tagged with the partition its key hashes to (a changelog written with another
   * partition count fails with INVALID_ARGUMENT); a range deletion (rangeEnd) spans every
   * partition, so it goes where it is tagged. Like Store.restore, records go in chunks
   * and a failure leaves earlier chunks applied.
   */
  async restore(source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>, options: RestoreOptions = {}): Promise<RestoreProgress> {
    this.checkOpen();
    if (options === null || typeof options !== 'object') throw invalid('restore options must be an object');
    const onProgress = options.onProgress;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid('onProgress must be a function');
    const isAsync = source != null && typeof (source as AsyncIterable<ChangeRecord>)[Symbol.asyncIterator] === 'function';
    if (!isAsync && (source == null || typeof (source as Iterable<ChangeRecord>)[Symbol.iterator] !== 'function')) {
      throw invalid('restore expects an iterable or async iterable of change records');
    }
    let pending: ChangeRecord[][] = this.stores.map(() => []);
    let pendingRecords = 0, pendingBytes = 0, records = 0;
    const started = performance.now();
    const total: RestoreProgress = { records: 0, applied: 0, bytes: 0, recordsPerSecond: 0 };
    const drain = async () => {
      const chunk = pending;
      pending = this.stores.map(() => []);
      pendingRecords = pendingBytes = 0;
      for (let p = 0; p < chunk.length; p++) {
        if (chunk[p].length === 0) continue;
        const done = await this.stores[p].restoreRecords(chunk[p]);
        total.records += done.records;
        total.applied += done.applied;
        total.bytes += done.bytes;
      }
      total.recordsPerSecond = total.records / Math.max((performance.now() - started) / 1000, 1e-9);
      onProgress?.({ ...total });
    };
    const take = async (r: ChangeRecord) => {
      pending[this.homeOf(r, records)].push(r);
      records++;
      pendingRecords++;
      pendingBytes += r.key.length + (r.value instanceof Uint8Array ? r.value.length : 0) + (r.rangeEnd instanceof Uint8Array ? r.rangeEnd.length : 0);
      if (pendingRecords >= RESTORE_CHUNK_RECORDS || pendingBytes >= RESTORE_CHUNK_BYTES) await drain();
    };
    if (isAsync) for await (const r of source as AsyncIterable<ChangeRecord>) await take(r);
    else for (const r of source as Iterable<ChangeRecord>) await take(r);
    await drain();
    await settleAll(this.stores.map((s) => s.restored()));
    return total;
  }

  /** Store.checkpoint on every partition (each its own changelog position); index = partition. */
  async checkpoint(): Promise<Checkpoint[]> {
    this.checkOpen();
    const results = await Promise.allSettled(this.stores.map((s) => s.checkpoint()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<Checkpoint>).value);
  }

  // ---- maintenance ---------------------------------------------------------------------

  async flush(): Promise<void> {
    this.checkOpen();
    await settleAll(this.stores.map((s) => s.flush()));
  }

  async compact(): Promise<void> {
    this.checkOpen();
    for (const s of this.stores) await s.compact();
  }

  /** The sum of the partitions' Store.approximateNumEntries, with the same error. */
  approximateNumEntries(): number {
    this.checkOpen();
    let n = 0;
    for (const s of this.stores) n += s.approximateNumEntries();
    return n;
  }

  stats(): PartitionedStoreStats {
    this.checkOpen();
    return aggregateStats(this.stores.map((s) => s.stats()));
  }

  /** Closes every partition, then each changelog sink once, each whatever the others did;
   *  rejects with the first failure. Idempotent: a second call returns the same promise. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      // Refused (a sink's append or a merge operator calling it): nothing starts closing, so
      // a later close() closes every partition.
      for (const s of this.stores) { const refused = s.closeRefusal(); if (refused !== undefined) return Promise.reject(refused); }
    }
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    const results = await Promise.allSettled(this.stores.map((s) => s.close()));
    for (const s of this.sinks) results.push(...await Promise.allSettled([Promise.resolve().then(() => s.close?.())]));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  // ---- internals -----------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the store is closed');
  }

  /** Encodes and size-checks a key exactly as the partitions do. */
  private encodeKey(key: K): Uint8Array { return this.stores[0].encodeKey(key); }

  private storeFor(key: K): Store<K, V> {
    this.checkOpen();
    return this.stores[kafkaPartition(this.encodeKey(key), this.partitions)];
  }

  /** Checks a put's value with the partitions' own check (Store.checkPutValue), so a batch
   *  fails before any partition is written: a copy of the check here had missed the 8 bytes
   *  a ttl adds to every value. */
  private checkValue(value: V): void { this.stores[0].checkPutValue(value); }

  /**
   * Validates every item (keyOf throws on bad input) and groups them by partition,
   * keeping their order. With `indexes`, groups hold item positions instead of items.
   */
  private group<T>(items: Iterable<T>, keyOf: (item: T) => Uint8Array, indexes: true): Map<number, number[]>;
  private group<T>(items: Iterable<T>, keyOf: (item: T) => Uint8Array, indexes: false): Map<number, T[]>;
  private group<T>(items: Iterable<T>, keyOf: (item: T) => Uint8Array, indexes: boolean): Map<number, (T | number)[]> {
    const groups = new Map<number, (T | number)[]>();
    let i = 0;
    for (const item of items) {
      const p = kafkaPartition(keyOf(item), this.partitions);
      let g = groups.get(p);
      if (g === undefined) groups.set(p, g = []);
      g.push(indexes ? i : item);
      i++;
    }
    return groups;
  }

  /**
   * Applies each partition's batch in partition order. A failing batch (out of memory, a
   * throwing listener after its commit) does not stop the others; the first error is
   * rethrown once every partition has been tried.
   */
  private applyGroups<T>(groups: Map<number, T[]>, apply: (s: Store<K, V>, items: T[]) => void): void {
    let failure: { err: unknown } | undefined;
    for (const p of [...groups.keys()].sort((a, b) => a - b)) {
      try { apply(this.stores[p], groups.get(p)!); } catch (err) { failure ??= { err }; }
    }
    if (failure !== undefined) throw failure.err;
  }

  private homeOf(r: ChangeRecord, index: number): number {
    if (r === null || typeof r !== 'object') throw invalid(`restore: record ${index} is not an object`);
    if (!(r.key instanceof Uint8Array)) throw invalid(`restore: record ${index} has no Uint8Array key`);
    const p = r.partition;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= this.partitions) {
      throw invalid(`restore: record ${index} is for partition ${shown(p)}, outside [0, ${this.partitions})`);
    }
    if (r.rangeEnd !== undefined) return p; // a range deletion spans every partition: its key is only its start
    const home = kafkaPartition(r.key, this.partitions);
    if (home !== p) {
      throw invalid(`restore: record ${index} is tagged partition ${p} but its key hashes to partition ${home} of ${this.partitions}` +
        ' (was the changelog written with another partition count?)');
    }
    return p;
  }
}

/** A snapshot per partition, read through one routing function and merged iterators. */
class PartitionedSnapshot<K, V> implements Snapshot<K, V> {
  private closed = false;
  constructor(
    private readonly snaps: Snapshot<K, V>[],
    private readonly route: (key: K) => number,
  ) {}

  get(key: K): V | undefined { return this.snapFor(key).get(key); }
  has(key: K): boolean { return this.snapFor(key).has(key); }
  getAll(keys: readonly K[]): (V | undefined)[] {
    this.checkOpen();
    if (!Array.isArray(keys)) throw invalid('getAll expects an array of keys');
    const groups = new Map<number, number[]>();
    // Every index, holes of a sparse array too (forEach skips them: a hole read undefined).
    for (let i = 0; i < keys.length; i++) { const p = this.route(keys[i]); const g = groups.get(p); if (g) g.push(i); else groups.set(p, [i]); }
    const out = new Array<V | undefined>(keys.length);
    groups.forEach((indexes, p) => {
      const values = this.snaps[p].getAll(indexes.map((i) => keys[i]));
      indexes.forEach((i, j) => { out[i] = values[j]; });
    });
    return out;
  }
  range(bounds: RangeBounds<K>): KeyValueIterator<K, V>;
  range(from: K, to: K, o?: RangeOptions): KeyValueIterator<K, V>;
  range(from: K | RangeBounds<K>, to?: K, o?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return mergedRange(this.snaps, from, to, o);
  }
  prefixScan(prefix: K, o?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return mergePartitions(this.snaps, (s) => s.prefixScan(prefix, o), o);
  }
  all(o?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return mergePartitions(this.snaps, (s) => s.all(o), o);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.snaps) s.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the snapshot is closed');
  }
  private snapFor(key: K): Snapshot<K, V> {
    this.checkOpen();
    return this.snaps[this.route(key)];
  }
}

// ---- helpers ------------------------------------------------------------------------


async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

function iterate<T>(items: Iterable<T>, what: string): Iterable<T> {
  if (items === null || items === undefined || typeof (items as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw invalid(`${what} expects an iterable`);
  }
  return items;
}
