// strata-kv/level: an abstract-level (3.x) database over a Store, like classic-level's
// `new ClassicLevel(location, options)`. With a location the Store lives in that directory
// (durable, one open instance per directory); without one it is in memory.
//
// The Store holds bytes (codecs.bytes for keys and values); abstract-level's transcoder
// turns every Level encoding into one of the three formats declared here ('utf8', 'buffer',
// 'view'), which level/format.ts maps to and from those bytes. Every Store call is
// synchronous, so each read sees the store as of the call (the implicit snapshot Level asks
// for) and every batch is atomic. Explicit snapshots are Store snapshots; iterators read a
// snapshot too (level/iterator.ts), which is what makes seek() possible.
import { AbstractLevel, AbstractSnapshot, type AbstractDatabaseOptions } from 'abstract-level';
import { Store, codecs, type StoreOptions } from 'strata-kv';
import { Buffer } from 'buffer';
import { fromBytes, toBytes, type LevelFormat } from './format.js';
import {
  StrataIterator, StrataKeyIterator, StrataValueIterator, clearChunks,
  type ByteSnapshot, type LevelReadOptions,
} from './iterator.js';
import { LevelError, toLevelError } from './errors.js';
import { byteRange } from './range.js';
import { MAX_KEY_BYTES, compareBytes, keyAfter } from '../key-range.js';
import { storeExistsAt } from './location.js';

export { LevelError } from './errors.js';

/** Store options a StrataLevel passes on (path and codecs are the adapter's own). */
export type StrataStoreOptions = Omit<StoreOptions<Uint8Array, Uint8Array>, 'path' | 'keyCodec' | 'valueCodec'>;

export interface StrataLevelOptions<K, V> extends AbstractDatabaseOptions<K, V>, StrataStoreOptions {}

const STORE_OPTIONS = [
  'sync', 'changelog', 'partition', 'memtableBytes', 'blockBytes', 'bloomBitsPerKey', 'level0CompactionTrigger',
  'levelBaseBytes', 'levelSizeMultiplier', 'runTargetBytes', 'autoCompaction', 'maxMemoryBytes',
] as const satisfies readonly (keyof StrataStoreOptions)[];

/** clear() yields to the event loop between chunks, so a large range does not hold the thread. */
const breathe = (): Promise<void> => new Promise((resolve) => {
  if (typeof setImmediate === 'function') setImmediate(resolve); else setTimeout(resolve, 0);
});

type Format = string | Buffer | Uint8Array;
type Src = Store | ByteSnapshot;

export class StrataLevel<KDefault = string, VDefault = string> extends AbstractLevel<Format, KDefault, VDefault> {
  readonly #location: string | undefined;
  #store: Store | undefined;
  /** clear() calls in flight (they yield between chunks): close() lets them finish first. */
  readonly #clearing = new Set<Promise<void>>();

  constructor(location?: string, options?: StrataLevelOptions<KDefault, VDefault>);
  constructor(options?: StrataLevelOptions<KDefault, VDefault>);
  constructor(location?: string | StrataLevelOptions<KDefault, VDefault>, options?: StrataLevelOptions<KDefault, VDefault>) {
    if (typeof location === 'object' && location !== null) {
      options = location;
      location = undefined;
    }
    if (location !== undefined && (typeof location !== 'string' || location === '')) {
      throw new TypeError("The first argument 'location' must be a non-empty string (a directory) or undefined");
    }
    const onDisk = location !== undefined;
    // level-supports' IManifest type predates getSync, hence the cast.
    super(<object>{
      encodings: { buffer: true, view: true, utf8: true },
      seek: true,
      implicitSnapshots: true,
      explicitSnapshots: true,
      has: true,
      getSync: true,
      permanence: onDisk,
      createIfMissing: onDisk,
      errorIfExists: onDisk,
      signals: { iterators: true },
    }, options);
    this.#location = location;
  }

  /** The directory, or undefined for a database in memory. */
  get location(): string | undefined { return this.#location; }

  // ---- open and close ------------------------------------------------------------------

  protected async _open(options: { createIfMissing: boolean; errorIfExists: boolean } & Record<string, unknown>): Promise<void> {
    const location = this.#location;
    const storeOptions: StoreOptions<Uint8Array, Uint8Array> = { keyCodec: codecs.bytes, valueCodec: codecs.bytes };
    for (const name of STORE_OPTIONS) {
      if (options[name] !== undefined) (storeOptions as Record<string, unknown>)[name] = options[name];
    }
    if (location !== undefined) {
      const exists = await storeExistsAt(location); // a promise in browsers (OPFS)
      if (!exists && !options.createIfMissing) throw new LevelError(`${location} does not exist (createIfMissing is false)`);
      if (exists && options.errorIfExists) throw new LevelError(`${location} exists (errorIfExists is true)`);
      storeOptions.path = location;
    }
    if (this.#store !== undefined) return; // in memory, reopened
    try {
      this.#store = await Store.open(storeOptions);
    } catch (err) {
      throw toLevelError(err);
    }
  }

  /** On disk the Store closes (releasing the directory's lock); in memory it stays, so the
   *  data lives as long as the instance and a reopen finds it (as memory-level does). */
  protected async _close(): Promise<void> {
    if (this.#location === undefined) return;
    // A chunked clear() yields between chunks; closing the Store under it would stop it
    // half done (LEVEL_DATABASE_NOT_OPEN after some chunks), where classic-level's close
    // waits for operations in flight and memory-level's finds its data still there.
    while (this.#clearing.size > 0) await Promise.allSettled([...this.#clearing]);
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }

  // ---- reads ---------------------------------------------------------------------------

  protected async _get(key: Format, options: { valueEncoding: LevelFormat; snapshot?: unknown }): Promise<Format | undefined> {
    return this._getSync(key, options);
  }

  protected _getSync(key: Format, options: { valueEncoding: LevelFormat; snapshot?: unknown }): Format | undefined {
    try {
      const v = this.#source(options.snapshot).get(toBytes(key));
      return v === undefined ? undefined : fromBytes(v, options.valueEncoding);
    } catch (err) {
      throw toLevelError(err);
    }
  }

  protected async _getMany(keys: Format[], options: { valueEncoding: LevelFormat; snapshot?: unknown }): Promise<(Format | undefined)[]> {
    try {
      const src = this.#source(options.snapshot);
      const bytes = keys.map(toBytes);
      const values = src instanceof Store ? src.getAll(bytes) : bytes.map((k) => src.get(k));
      const f = options.valueEncoding;
      return values.map((v) => (v === undefined ? undefined : fromBytes(v, f)));
    } catch (err) {
      throw toLevelError(err);
    }
  }

  protected async _has(key: Format, options: { snapshot?: unknown }): Promise<boolean> {
    try {
      return this.#source(options.snapshot).has(toBytes(key));
    } catch (err) {
      throw toLevelError(err);
    }
  }

  protected async _hasMany(keys: Format[], options: { snapshot?: unknown }): Promise<boolean[]> {
    try {
      const src = this.#source(options.snapshot);
      return keys.map((k) => src.has(toBytes(k)));
    } catch (err) {
      throw toLevelError(err);
    }
  }

  protected _iterator(options: LevelReadOptions): StrataIterator {
    const [snap, owns] = this.#readSnapshot(options.snapshot);
    return new StrataIterator(this, options, snap, owns);
  }

  protected _keys(options: LevelReadOptions): StrataKeyIterator {
    const [snap, owns] = this.#readSnapshot(options.snapshot);
    return new StrataKeyIterator(this, options, snap, owns);
  }

  protected _values(options: LevelReadOptions): StrataValueIterator {
    const [snap, owns] = this.#readSnapshot(options.snapshot);
    return new StrataValueIterator(this, options, snap, owns);
  }

  protected _snapshot(options: object): StrataSnapshot {
    try {
      return new StrataSnapshot(options, this.#open().snapshot());
    } catch (err) {
      throw toLevelError(err);
    }
  }

  // ---- writes --------------------------------------------------------------------------

  protected async _put(key: Format, value: Format): Promise<void> {
    try {
      this.#open().put(toBytes(key), toBytes(value));
    } catch (err) {
      throw toLevelError(err);
    }
  }

  protected async _del(key: Format): Promise<void> {
    try {
      this.#open().delete(toBytes(key));
    } catch (err) {
      throw toLevelError(err);
    }
  }

  protected async _batch(operations: { type: 'put' | 'del'; key: Format; value?: Format }[]): Promise<void> {
    try {
      this.#open().write(operations.map((op) => (op.type === 'put'
        ? { type: 'put' as const, key: toBytes(op.key), value: toBytes(op.value) }
        : { type: 'del' as const, key: toBytes(op.key) })));
    } catch (err) {
      throw toLevelError(err);
    }
  }

  /**
   * Deletes the range's keys as of the call (keys written after it began stay). Without a
   * limit or a snapshot, with range tombstones (Store.deleteRange: one write, whatever the
   * number of keys); otherwise the keys are read from the snapshot and deleted CHUNK per
   * atomic deleteAll, yielding to the event loop between chunks.
   */
  protected async _clear(options: LevelReadOptions): Promise<void> {
    if (options.limit < 0 && options.snapshot === undefined) {
      try { clearByRange(this.#open(), options); } catch (err) { throw toLevelError(err); }
      return;
    }
    const [snap, owns] = this.#readSnapshot(options.snapshot);
    const clearing = this.#clearChunked(snap, owns, options);
    this.#clearing.add(clearing);
    try {
      await clearing;
    } finally {
      this.#clearing.delete(clearing);
    }
  }

  /** clear() of the keys read from `snap` (released after, when `owns`), CHUNK per atomic
   *  deleteAll, yielding to the event loop between chunks. */
  async #clearChunked(snap: ByteSnapshot, owns: boolean, options: LevelReadOptions): Promise<void> {
    try {
      let first = true;
      for (const keys of clearChunks(snap, options)) {
        if (!first) await breathe();
        first = false;
        this.#open().deleteAll(keys);
      }
    } catch (err) {
      throw toLevelError(err);
    } finally {
      if (owns) snap.close();
    }
  }

  // ---- internals -----------------------------------------------------------------------

  #open(): Store {
    const store = this.#store;
    if (store === undefined) throw new LevelError('Database is not open', 'LEVEL_DATABASE_NOT_OPEN');
    return store;
  }

  /** What a point read reads: the explicit snapshot, else the store as it is now. */
  #source(snapshot: unknown): Src {
    return snapshot instanceof StrataSnapshot ? snapshot.inner : this.#open();
  }

  /** What a range read reads, and whether it is the reader's own snapshot to release. */
  #readSnapshot(snapshot: unknown): [ByteSnapshot, boolean] {
    if (snapshot instanceof StrataSnapshot) return [snapshot.inner, false];
    try {
      return [this.#open().snapshot(), true];
    } catch (err) {
      throw toLevelError(err);
    }
  }
}

/** An explicit snapshot: a Store snapshot, released on close. */
export class StrataSnapshot extends AbstractSnapshot {
  /** @internal */
  readonly inner: ByteSnapshot;
  constructor(options: object, inner: ByteSnapshot) {
    // abstract-level's typings omit the constructor's options ({ owner }).
    super(...([options] as unknown as []));
    this.inner = inner;
  }
  protected async _close(): Promise<void> { this.inner.close(); }
}

/** The largest key a store can hold: MAX_KEY_BYTES of 0xff, which no half-open range can
 *  end after. */
const LAST_KEY = new Uint8Array(MAX_KEY_BYTES).fill(0xff);

/** clear() of a whole range as range tombstones: [lower, upper), or to the end of the key
 *  space as [lower, LAST_KEY) and LAST_KEY itself when present. */
function clearByRange(store: Store, options: LevelReadOptions): void {
  const r = byteRange(options, toBytes);
  if (r.lower === undefined) return; // above every key
  const to = r.upper === undefined ? undefined : r.upper.inclusive ? keyAfter(r.upper.key) : r.upper.key;
  if (to !== undefined) {
    if (compareBytes(r.lower, to) < 0) store.deleteRange(r.lower, to);
    return;
  }
  if (compareBytes(r.lower, LAST_KEY) < 0) store.deleteRange(r.lower, LAST_KEY);
  if (store.has(LAST_KEY)) store.delete(LAST_KEY);
}
