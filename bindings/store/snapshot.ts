// Snapshots: a Store frozen at one sequence number (get, has, getAll, range and all read as of it),
// and the owner an iterator of a snapshot answers to (the snapshot for being open, the
// store for tracking). The engine keeps the versions a snapshot can see until it is closed.
import { StrataError } from '../errors.js';
import type { EngineIterator, KeyValueIterator, IteratorOwner } from './iterator.js';
import type { Encodable, RangeOptions, RangeBounds } from './arguments.js';

/** What a snapshot asks of its store (Store provides it; an interface, so that this module
 *  does not import reads.ts, which imports it). */
export interface SnapshotHost<K, V> extends IteratorOwner {
  readGet(key: K, snapSeq: number): V | undefined;
  readHas(key: K, snapSeq: number): boolean;
  readGetAll(keys: readonly K[], snapSeq: number): (V | undefined)[];
  encodableKey(key: K): Encodable;
  openIterator(from: Encodable | undefined, to: Encodable | undefined, options: RangeOptions | undefined,
               snapSeq: number, owner: IteratorOwner): KeyValueIterator<K, V>;
  openRange(from: K | RangeBounds<K>, to: K | undefined, options: RangeOptions | undefined,
            snapSeq: number, owner: IteratorOwner): KeyValueIterator<K, V>;
  openPrefix(prefix: K, options: RangeOptions | undefined, snapSeq: number, owner: IteratorOwner): KeyValueIterator<K, V>;
  releaseSnapshot(s: StoreSnapshot<K, V>, seq: number): void;
}

export interface Snapshot<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  getAll(keys: readonly K[]): (V | undefined)[];
  range(bounds: RangeBounds<K>): KeyValueIterator<K, V>;
  range(from: K, to: K, o?: RangeOptions): KeyValueIterator<K, V>;
  prefixScan(prefix: K, o?: RangeOptions): KeyValueIterator<K, V>;
  all(o?: RangeOptions): KeyValueIterator<K, V>;
  close(): void;
}

export class StoreSnapshot<K, V> implements Snapshot<K, V>, IteratorOwner {
  private closed = false;
  constructor(private readonly store: SnapshotHost<K, V>, private readonly seq: number) {}

  checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the snapshot is closed');
    this.store.checkOpen();
  }
  untrack(): void {}

  get(key: K): V | undefined { this.checkOpen(); return this.store.readGet(key, this.seq); }
  has(key: K): boolean { this.checkOpen(); return this.store.readHas(key, this.seq); }
  getAll(keys: readonly K[]): (V | undefined)[] { this.checkOpen(); return this.store.readGetAll(keys, this.seq); }
  range(bounds: RangeBounds<K>): KeyValueIterator<K, V>;
  range(from: K, to: K, o?: RangeOptions): KeyValueIterator<K, V>;
  range(from: K | RangeBounds<K>, to?: K, o?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return this.store.openRange(from, to, o, this.seq, this);
  }
  prefixScan(prefix: K, o?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return this.store.openPrefix(prefix, o, this.seq, this);
  }
  all(o?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return this.store.openIterator(undefined, undefined, o, this.seq, this);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.releaseSnapshot(this, this.seq);
  }
  /** The store closed under us. */
  detach(): void { this.closed = true; }
}

/** An iterator of a snapshot: checks the snapshot, untracks from the store. */
export class ChainedOwner implements IteratorOwner {
  constructor(private readonly outer: IteratorOwner, private readonly store: IteratorOwner) {}
  checkOpen(): void { this.outer.checkOpen(); }
  untrack(it: EngineIterator<any, any>): void { this.store.untrack(it); }
}
