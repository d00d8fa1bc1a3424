// SharedStore: one OPFS store used from every tab (and worker) of an app at once (docs/API.md,
// "Several tabs"). A Store with `path` is open in one dedicated Worker at a time (the
// directory's LOCK); SharedStore elects that owner with a Web Lock (election.ts), runs the
// Store there (owner.ts, owner-host.ts) and forwards every other context's calls to it over a
// BroadcastChannel (client.ts, protocol.ts). When the owning tab closes or crashes, the
// next tab in the lock's queue reopens the store and the unanswered requests go to it.
//
// Keys and values are encoded here, with this context's codecs, and travel as bytes; the
// owner's Store sees bytes only. Every call is async and rejects with a StrataError whose
// code the owner's Store gave (or this side's checks: INVALID_ARGUMENT, KEY_TOO_LARGE).
import { StrataError, invalid } from '../errors.js';
import { codecs, type Codec } from '../codecs.js';
import { MAX_KEY_BYTES } from '../engine/abi.js';
import { checkBounds, checkRangeOptions, encodeWith, type RangeBounds, type KeyBound } from '../store/arguments.js';
import { checkStoreOptions, resolveTuning, type StoreOptions } from '../store/options.js';
import type { StoreStats } from '../store/stats.js';
import { Client } from './client.js';
import { Election } from './election.js';
import { serveOwner } from './owner-host.js';
import { TUNING_OPTIONS, type SharedTuning } from './owner.js';
import type { Bound, WireWrite } from './protocol.js';

export interface SharedStoreOptions<K = Uint8Array, V = Uint8Array> extends SharedTuning {
  /** The OPFS directory, as Store's `path`; the lock and channel are named after it. */
  path: string;
  keyCodec?: Codec<K>;
  valueCodec?: Codec<V>;
  /** Starts the owner's worker when this tab is elected on a page's main thread: a module
   *  Worker whose script calls SharedStore.serve(). Default: dist/shared-worker.js beside
   *  the entry (new URL('./shared-worker.js', import.meta.url)). */
  worker?: () => Worker;
}

/** A write of SharedStore.write(): a put or a delete. */
export type SharedWriteOp<K, V> = { type: 'put'; key: K; value: V } | { type: 'del'; key: K };

/** Store options a SharedStore cannot carry to its owner (functions, a changelog) or does not
 *  keep (TTL: the write markers would expire with the data). */
const STORE_ONLY_OPTIONS = ['changelog', 'restoreFrom', 'ttlMs', 'expirySweepMs', 'mergeOperators', 'onRestoreProgress', 'partition', 'onListenerError'] as const;

/** Entries per range request: a batch is one message each way. */
const RANGE_BATCH = 256;
/** A SharedStore's stored key is one byte longer than the user's (protocol.ts, invariant 3). */
const MAX_SHARED_KEY_BYTES = MAX_KEY_BYTES - 1;

const defaultWorker = (): Worker => new Worker(new URL('./shared-worker.js', import.meta.url), { type: 'module', name: 'strata-kv SharedStore owner' });

export class SharedStore<K = Uint8Array, V = Uint8Array> {
  private readonly keyCodec: Codec<K>;
  private readonly valueCodec: Codec<V>;
  private readonly client: Client;
  private readonly election: Election;
  private closing: Promise<void> | undefined;
  private readonly listeners = new Set<(isOwner: boolean) => void>();

  /**
   * Opens the store at `path` shared with every other context of this origin that opens it.
   * Resolves once an owner serves it (this context or another); rejects with the Store's
   * error if this context was elected and the Store did not open (CORRUPTION, LOCKED while a
   * plain Store holds the directory for more than 10 s, ...).
   */
  static async open<K = Uint8Array, V = Uint8Array>(options: SharedStoreOptions<K, V>): Promise<SharedStore<K, V>> {
    if (options === null || typeof options !== 'object') throw invalid('SharedStore.open expects an options object with a path');
    if (typeof options.path !== 'string' || options.path === '') throw invalid('SharedStore needs a path (an OPFS directory)');
    if (options.worker !== undefined && typeof options.worker !== 'function') throw invalid('worker must be a function returning a Worker');
    for (const name of STORE_ONLY_OPTIONS) {
      if ((options as unknown as Record<string, unknown>)[name] !== undefined) {
        throw invalid(`SharedStore.open does not take ${name}: only path, keyCodec, valueCodec, worker and the tuning options reach the owner`);
      }
    }
    // The owner's Store checks these too, but only the elected context's; here every caller hears.
    checkStoreOptions({ path: options.path, sync: options.sync, keyCodec: options.keyCodec, valueCodec: options.valueCodec } as StoreOptions<unknown, unknown>);
    resolveTuning(options as unknown as StoreOptions<unknown, unknown>);
    const g = globalThis as { navigator?: { locks?: unknown }; BroadcastChannel?: unknown };
    if (typeof g.BroadcastChannel !== 'function' || typeof g.navigator?.locks !== 'object') {
      throw invalid('SharedStore needs Web Locks (navigator.locks) and BroadcastChannel: a page or worker of a secure context');
    }
    const s = new SharedStore<K, V>(options);
    await s.ready;
    return s;
  }

  /** In a Worker script: serves as the owner's worker for the tab that starts it (the
   *  `worker` option), e.g. `import { SharedStore } from 'strata-kv'; SharedStore.serve();`. */
  static serve(): void { serveOwner(); }

  private readonly ready: Promise<void>;

  private constructor(options: SharedStoreOptions<K, V>) {
    this.keyCodec = options.keyCodec ?? (codecs.bytes as unknown as Codec<K>);
    this.valueCodec = options.valueCodec ?? (codecs.bytes as unknown as Codec<V>);
    const tuning: SharedTuning = {};
    for (const name of TUNING_OPTIONS) if (options[name] !== undefined) (tuning as Record<string, unknown>)[name] = options[name];
    this.client = new Client(options.path);
    let opened!: () => void, refused!: (err: StrataError) => void;
    this.ready = new Promise<void>((resolve, reject) => { opened = resolve; refused = reject; });
    this.client.onOwner = () => opened();
    this.client.onFailed = (err) => this.client.failPending(err);
    this.election = new Election({ path: options.path, tuning }, options.worker ?? defaultWorker, (err) => {
      // Elected but the Store did not open: this SharedStore fails (it does not queue again,
      // which with a damaged directory would pass the failure round the tabs for ever).
      refused(err);
      this.client.failPending(err);
      this.closing ??= this.shutDown(err);
    }, (owning) => {
      // Each in a microtask of its own: a listener that throws is reported as uncaught and
      // cannot stop the election's step that called this.
      for (const l of this.listeners) queueMicrotask(() => l(owning));
    });
    this.election.start();
  }

  /** Whether this context runs the store's owner now. */
  get isOwner(): boolean { return this.election.isOwner; }

  /** Calls `listener` when this context becomes or stops being the owner; returns an unsubscribe. */
  onOwnerChange(listener: (isOwner: boolean) => void): () => void {
    if (typeof listener !== 'function') throw invalid('onOwnerChange expects a function');
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  async get(key: K): Promise<V | undefined> {
    const v = await this.client.request({ op: 'get', key: this.key(key) }) as Uint8Array | undefined;
    return v === undefined ? undefined : this.valueCodec.decode(v);
  }

  async getVersioned(key: K): Promise<{ value: V; version: number } | undefined> {
    const r = await this.client.request({ op: 'getVersioned', key: this.key(key) }) as { value: Uint8Array; version: number } | undefined;
    return r === undefined ? undefined : { value: this.valueCodec.decode(r.value), version: r.version };
  }

  async getAll(keys: readonly K[]): Promise<(V | undefined)[]> {
    if (!Array.isArray(keys)) throw invalid('getAll expects an array of keys');
    const vs = await this.client.request({ op: 'getAll', keys: keys.map((k) => this.key(k)) }) as (Uint8Array | undefined)[];
    return vs.map((v) => (v === undefined ? undefined : this.valueCodec.decode(v)));
  }

  async put(key: K, value: V): Promise<void> { return this.send([[0, this.key(key), this.value(value)]]); }
  async delete(key: K): Promise<void> { return this.send([[1, this.key(key)]]); }

  async putAll(entries: Iterable<readonly [K, V]>): Promise<void> {
    const ops: WireWrite[] = [];
    for (const [k, v] of entries) ops.push([0, this.key(k), this.value(v)]);
    return this.send(ops);
  }

  async deleteAll(keys: Iterable<K>): Promise<void> {
    const ops: WireWrite[] = [];
    for (const k of keys) ops.push([1, this.key(k)]);
    return this.send(ops);
  }

  /** Applies `ops` atomically, as Store.write (puts and deletes). */
  async write(ops: Iterable<SharedWriteOp<K, V>>): Promise<void> {
    const out: WireWrite[] = [];
    for (const op of ops) {
      if (op?.type === 'put') out.push([0, this.key(op.key), this.value(op.value)]);
      else if (op?.type === 'del') out.push([1, this.key(op.key)]);
      else throw invalid(`a SharedStore write op is { type: 'put', key, value } or { type: 'del', key }, got ${JSON.stringify((op as { type?: unknown } | undefined)?.type)}`);
    }
    return this.send(out);
  }

  /**
   * The entries in `bounds` (as Store.range's bounds object), fetched RANGE_BATCH at a time.
   * Each batch is read at one moment; the iteration as a whole is not a snapshot: a batch
   * sees writes made after the previous one (the next batch starts after the last key seen).
   */
  range(bounds: RangeBounds<K> = {}): AsyncIterableIterator<[K, V]> {
    const { lower, upper, options } = checkBounds<K>(bounds);
    const { reverse, limit } = checkRangeOptions(options);
    const enc = (b: KeyBound<K> | undefined): Bound | undefined => (b === undefined ? undefined : { key: this.key(b.key), inclusive: b.inclusive });
    return this.batches(enc(lower), enc(upper), reverse, limit);
  }

  private async *batches(lower: Bound | undefined, upper: Bound | undefined, reverse: boolean, limit: number): AsyncGenerator<[K, V]> {
    let left = limit;
    while (left > 0) {
      const n = Math.min(RANGE_BATCH, left);
      const batch = await this.client.request({ op: 'range', lower, upper, reverse, limit: n }) as [Uint8Array, Uint8Array][];
      for (const [k, v] of batch) yield [this.keyCodec.decode(k), this.valueCodec.decode(v)];
      left -= batch.length;
      if (batch.length < n) return;
      const after: Bound = { key: batch[batch.length - 1][0], inclusive: false };
      if (reverse) upper = after; else lower = after;
    }
  }

  /** The owner's Store.stats(): its levels, memory and block cache (the write markers and
   *  the owner's epoch count among its entries). */
  async stats(): Promise<StoreStats> { return await this.client.request({ op: 'stats' }) as StoreStats; }

  /** Resolves once every write acknowledged before it is durable (Store.flush on the owner). */
  async flush(): Promise<void> { await this.client.request({ op: 'flush' }); }

  /**
   * Waits for this context's requests to be answered, then leaves: if it owns the store, the
   * Store closes and the next context in the queue takes over. Afterwards every call rejects
   * with CLOSED. Rejects if the owner's Store.close did (IO_ERROR).
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown(new StrataError('CLOSED', 'the SharedStore is closed'));
    return this.closing;
  }

  private async shutDown(error: StrataError): Promise<void> {
    await this.client.close(error);
    await this.election.stop();
  }

  private send(ops: WireWrite[]): Promise<void> {
    return this.client.request({ op: 'write', ops }).then(() => {});
  }

  private key(key: K): Uint8Array {
    const k = encodeWith(this.keyCodec, key, 'key');
    if (k.length > MAX_SHARED_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `key of ${k.length} bytes exceeds ${MAX_SHARED_KEY_BYTES} (a SharedStore key's limit)`);
    return k;
  }

  private value(value: V): Uint8Array { return encodeWith(this.valueCodec, value, 'value'); }
}
