// Store: the typed API over one engine instance (assembly/). Keys and values are encoded
// by codecs into the engine's argument region and passed as (ptr, len); results are
// decoded from linear memory. The built-in codecs have a fast path (codecs.ts) that writes
// straight into the region and decodes without copying where the result keeps no bytes;
// user codecs go through encode/decode and a copy. Every argument is validated before the
// engine is called, so a failed call changes nothing.
//
// The write protocol (docs/LSM.md, "The write protocol"): validate -> log -> apply -> notify.
// A write is encoded, checked and its memory reserved (prepare_batch); then appended to the
// write-ahead log and to every changelog sink, any of which may refuse it (the log is cut
// back, nothing is applied, the call throws); then applied, which cannot fail; then handed
// to the onChange listeners. Past "apply" the write is committed: nothing after it (run-file
// writing, a listener) makes the call throw; such failures are kept and reported by the
// next write, flush, checkpoint or close, or to onListenerError.
//
// Over 500 lines on purpose: this is the Store class, every public method of the API in one
// place, each short and handing its work to the modules beside it (arguments.ts,
// change-hooks.ts, expiry.ts, snapshot.ts, iterator.ts) and to the engine door. Splitting
// the class itself would scatter the API a reader looks up here.
import { Engine, Status, MAX_KEY_BYTES, MAX_VALUE_BYTES, instantiateEngine, statusError, ITER_LOWER, ITER_UPPER, ITER_REVERSE, READ_NOW } from '../engine/abi.js';
import { codecs, fastPathOf, utf8Bytes, type Codec, type CodecFastPath } from '../codecs.js';
import {
  FAST_REGION, KIND_DELETE, KIND_PUT, EMPTY, encodeWith, encodableWith, byteBound, byteLength, writeEncodable, iterate,
  checkVersion, checkRangeOptions, type Encodable, type EncodedOp, type RangeOptions,
} from './arguments.js';
import { StrataError, invalid } from '../errors.js';
import { EngineIterator, packFlags, type KeyValueIterator, type IteratorOwner } from './iterator.js';
import { StoreSnapshot, ChainedOwner, type Snapshot } from './snapshot.js';
import { ChangeHooks } from './change-hooks.js';
import { ExpirySweeper } from './expiry.js';
import { sinksOf, type ChangeRecord, type ChangelogSink, type ChangelogSource } from '../changelog/contract.js';
import { resolveTuning, checkStoreOptions, type StoreOptions } from './options.js';
import { decodeStats, type StoreStats } from './stats.js';
import { restoreInto, type RestoreOptions, type RestoreProgress } from '../changelog/restore.js';
import { Persistence } from '../storage/persistence.js';
import type { Disk } from '../storage/persistence-core.js';
import type { CheckpointMark } from '../storage/manifest-format.js';

/** What checkpoint() made durable: the state through `seq`, in the directory (with `path`)
 *  and in every changelog sink; `time` is when it was recorded (ms since the epoch). */
export type Checkpoint = CheckpointMark;

export type { Snapshot } from './snapshot.js';
export type WriteOp<K, V> = { type: 'put'; key: K; value: V } | { type: 'del'; key: K };
export type { RangeOptions } from './arguments.js';




export class Store<K = Uint8Array, V = Uint8Array> implements IteratorOwner {
  private readonly engine: Engine;
  private readonly keyCodec: Codec<K>;
  private readonly valueCodec: Codec<V>;
  private readonly keyFast: CodecFastPath<K> | undefined;
  /** iter_open's pack flags for this store's codecs (packFlags), fixed with them. */
  private readonly iteratorPacking: number;
  private readonly valueFast: CodecFastPath<V> | undefined;
  /** Lengths written by the last writeArgs. */
  private argKeyLen = 0;
  private argValueLen = 0;
  private readonly partitionNo: number;
  private readonly hooks: ChangeHooks;
  /** Open iterators, each at its `slot`: an array, as a Set's add and delete cost ~0.5 µs a
   *  pair, a tenth of a short range. */
  private readonly iterators: EngineIterator<K, V>[] = [];
  private readonly snapshots = new Set<StoreSnapshot<K, V>>();
  private closed = false;
  /** close() once started: a second call waits for the same close. */
  private closing: Promise<void> | undefined;
  /** The directory side (log, run files, manifest) of a store opened with `path`. */
  private readonly disk: Disk | undefined;
  /** Writes go through the directory's write-ahead log (a `path` store with no changelog
   *  to restore from). */
  private readonly logged: boolean;
  /** Checkpoints run one at a time: each commits the runs its first step wrote. */
  private checkpointing: Promise<unknown> = Promise.resolve();
  /** Entries' time to live in ms, 0 for none. With a ttl every stored value is an f64
   *  expiresAt (ms since the epoch, little-endian) followed by the user's bytes. */
  private readonly ttlMs: number;
  /** Bytes before the user's value in a stored value: 8 with a ttl, else 0. */
  private readonly valueOffset: number;
  /** Writes that take the batch path: with a log or sinks (prepare, log, apply) or a ttl. */
  private readonly batchWrites: boolean;
  /** Deletes expired entries through the write path (stores with ttlMs). */
  private readonly sweeper: ExpirySweeper;

  private constructor(engine: Engine, options: StoreOptions<K, V>, disk: Disk | undefined) {
    this.engine = engine;
    this.disk = disk;
    this.logged = disk?.logged ?? false;
    this.ttlMs = options.ttlMs ?? 0;
    this.valueOffset = this.ttlMs > 0 ? 8 : 0;
    this.keyCodec = options.keyCodec ?? (codecs.bytes as unknown as Codec<K>);
    this.valueCodec = options.valueCodec ?? (codecs.bytes as unknown as Codec<V>);
    this.keyFast = fastPathOf(this.keyCodec);
    this.valueFast = fastPathOf(this.valueCodec);
    this.iteratorPacking = packFlags(this.keyCodec, this.valueCodec);
    this.partitionNo = options.partition ?? 0;
    this.hooks = new ChangeHooks(sinksOf(options.changelog), this.partitionNo, options.onListenerError);
    // Sinks take a write before it is applied, in the batch path, which validates first.
    this.batchWrites = this.logged || this.ttlMs > 0 || this.hooks.hasSinks;
    this.sweeper = new ExpirySweeper(engine, (ops) => this.applyBatch(ops), () => { this.hooks.errors++; });
  }

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
    // Node's Persistence opens synchronously, OPFS's (persistence-browser.ts) asynchronously.
    const disk = options.path === undefined ? undefined
      : await Persistence.open(options.path, engine, { sync: options.sync === true, logged: source === undefined, ttl: ttlMs > 0, blockCacheBytes: t.blockCacheBytes, memtableBytes: t.memtableBytes });
    const store = new Store<K, V>(engine, options, disk);
    // The sink restored from is appended to last: a write another sink refuses never reaches
    // it, so a reopen cannot bring back a write whose call threw.
    if (source !== undefined) store.hooks.moveLast(source as unknown as ChangelogSink);
    try {
      if (source !== undefined) {
        // The records after what the directory (its last checkpoint) holds; then a
        // checkpoint, so the next open starts from here.
        await restoreInto(engine, source.read(store.partitionNo, engine.lastSeq() + 1),
          store.restoreOptions({ onProgress: options.onRestoreProgress }), () => store.checkOpen());
        if (disk) await store.checkpoint();
      }
      store.setExpiryClock();
      if (ttlMs > 0 && sweepMs > 0) store.startExpirySweeps(sweepMs);
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }

  // ---- reads ---------------------------------------------------------------------------

  get(key: K): V | undefined { return this.readGet(key, READ_NOW); }
  has(key: K): boolean { this.checkOpen(); return this.lookup(this.encodableKey(key), READ_NOW) === Status.OK; }

  // ---- expiry (ttlMs) ---------------------------------------------------------------

  /**
   * Deletes every expired entry now, through the normal write path (so listeners and sinks
   * get tombstones), and returns how many. Reads never see expired entries whether or not
   * this has run; it exists so that the changelog learns of expiries, and it runs in slices
   * every `expirySweepMs` by itself (store/expiry.ts). A store without ttlMs has nothing to purge.
   */
  purgeExpired(): number {
    this.checkWritable();
    return this.ttlMs === 0 ? 0 : this.sweeper.purge();
  }

  /** @internal Starts the periodic expiry sweeps (a standby starts them when promoted). */
  startExpirySweeps(intervalMs: number): void {
    if (this.ttlMs === 0 || intervalMs <= 0 || this.closed) return;
    this.sweeper.start(intervalMs);
  }

  /** Before an engine call that may compact: the clock expired values are dropped by. */
  private setExpiryClock(): void {
    if (this.ttlMs > 0) this.engine.setExpiryClock(Date.now());
  }

  /** Restore options with this store's ttl, for restoreInto. */
  private restoreOptions(options: RestoreOptions): RestoreOptions {
    this.setExpiryClock();
    return this.ttlMs === 0 ? options : { ...options, ttl: { ttlMs: this.ttlMs, now: Date.now() } } as RestoreOptions;
  }

  /** Whether the stored value at (ptr, len) of a ttl store has expired. */
  private expired(ptr: number, len: number): boolean {
    return len >= 8 && this.engine.view.getFloat64(ptr, true) <= Date.now();
  }

  getAll(keys: readonly K[]): (V | undefined)[] {
    this.checkOpen();
    if (!Array.isArray(keys)) throw invalid('getAll expects an array of keys');
    const encoded = keys.map((k) => this.encodableKey(k));
    let size = 0;
    for (const k of encoded) size += 4 + byteBound(k);
    if (((size + 7) & ~7) + encoded.length * 8 > FAST_REGION) {
      size = 0;
      for (const k of encoded) size += 4 + byteLength(k);
    }
    const outOffset = (size + 7) & ~7;
    const e = this.engine;
    const base = e.reserve(outOffset + encoded.length * 8);
    const view = e.view;
    const u8 = e.u8;
    let p = base;
    for (const k of encoded) {
      const n = writeEncodable(k, u8, p + 4, base + outOffset - p - 4);
      view.setUint32(p, n, true);
      p += 4 + n;
    }
    const st = e.getMany(base, encoded.length, base + outOffset, READ_NOW);
    if (st !== Status.OK) throw statusError(st, 'getAll', this.engine);
    const out: (V | undefined)[] = new Array(encoded.length);
    const skip = this.valueOffset;
    const fast = this.valueFast;
    // A user codec's decode may call this store, which reuses the result region and may move
    // or free what the results point at: every value is copied out before any is decoded.
    const raw: (Uint8Array | undefined)[] | undefined = fast === undefined ? new Array(encoded.length) : undefined;
    const results = e.view;
    for (let i = 0; i < encoded.length; i++) {
      const vp = results.getUint32(base + outOffset + i * 8, true);
      const vl = results.getUint32(base + outOffset + i * 8 + 4, true);
      if (vl === 0xffffffff || (skip !== 0 && this.expired(vp, vl))) out[i] = undefined;
      else if (raw !== undefined) raw[i] = e.copyOut(vp + skip, vl - skip);
      else out[i] = fast!.decodeFrom(e.u8, vp + skip, vl - skip);
    }
    if (raw !== undefined) {
      for (let i = 0; i < raw.length; i++) if (raw[i] !== undefined) out[i] = this.valueCodec.decode(raw[i]!);
    }
    return out;
  }

  getVersioned(key: K): { value: V; version: number } | undefined {
    this.checkOpen();
    if (this.lookup(this.encodableKey(key), READ_NOW) !== Status.OK) return undefined;
    const e = this.engine;
    const version = e.resultSeq();
    return { value: this.decodeValue(e.resultValuePtr() + this.valueOffset, e.resultValueLen() - this.valueOffset), version };
  }

  range(from: K, to: K, options?: RangeOptions): KeyValueIterator<K, V> {
    return this.openIterator(this.encodableKey(from), this.encodableKey(to), options, READ_NOW, this);
  }

  all(options?: RangeOptions): KeyValueIterator<K, V> {
    return this.openIterator(undefined, undefined, options, READ_NOW, this);
  }

  snapshot(): Snapshot<K, V> {
    this.checkOpen();
    const seq = this.engine.snapshotAcquire();
    const s = new StoreSnapshot<K, V>(this, seq);
    this.snapshots.add(s);
    return s;
  }

  // ---- writes --------------------------------------------------------------------------

  put(key: K, value: V): void {
    this.checkWritable();
    const k = this.encodableKey(key);
    const v = this.encodableValue(value);
    if (this.batchWrites) { this.applyBatch([{ kind: KIND_PUT, key: k, value: v }]); return; }
    this.checkOpen(); // a user codec may have closed the store
    const e = this.engine;
    const p = this.writeArgs(k, v);
    const kl = this.argKeyLen;
    const st = e.put(p, kl, p + kl, this.argValueLen);
    if (st !== Status.OK) throw statusError(st, 'put', this.engine);
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_PUT, key: k, value: v }], e.resultSeq()));
  }

  delete(key: K): void {
    this.checkWritable();
    const k = this.encodableKey(key);
    if (this.batchWrites) { this.applyBatch([{ kind: KIND_DELETE, key: k, value: EMPTY }]); return; }
    this.checkOpen(); // a user codec may have closed the store
    const e = this.engine;
    const p = this.writeArgs(k, EMPTY);
    const st = e.del(p, this.argKeyLen);
    if (st !== Status.OK) throw statusError(st, 'delete', this.engine);
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_DELETE, key: k, value: EMPTY }], e.resultSeq()));
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    this.checkWritable();
    const ops: EncodedOp[] = [];
    for (const entry of iterate(entries, 'putAll')) {
      if (!Array.isArray(entry) || entry.length < 2) throw invalid('putAll expects [key, value] pairs');
      ops.push({ kind: KIND_PUT, key: this.encodableKey(entry[0]), value: this.encodableValue(entry[1]) });
    }
    this.applyBatch(ops);
  }

  deleteAll(keys: Iterable<K>): void {
    this.checkWritable();
    const ops: EncodedOp[] = [];
    for (const key of iterate(keys, 'deleteAll')) ops.push({ kind: KIND_DELETE, key: this.encodableKey(key), value: EMPTY });
    this.applyBatch(ops);
  }

  write(ops: Iterable<WriteOp<K, V>>): void {
    this.checkWritable();
    const encoded: EncodedOp[] = [];
    for (const op of iterate(ops, 'write')) {
      if (op === null || typeof op !== 'object') throw invalid('write expects { type, key, value? } operations');
      if (op.type === 'put') encoded.push({ kind: KIND_PUT, key: this.encodableKey(op.key), value: this.encodableValue(op.value) });
      else if (op.type === 'del') encoded.push({ kind: KIND_DELETE, key: this.encodableKey(op.key), value: EMPTY });
      else throw invalid(`unknown operation type ${String((op as { type?: unknown }).type)}`);
    }
    this.applyBatch(encoded);
  }

  putIfVersion(key: K, value: V, expected: number): boolean {
    this.checkWritable();
    checkVersion(expected);
    const k = this.encodableKey(key);
    const v = this.encodableValue(value);
    if (this.batchWrites) return this.durableIfVersion(k, expected, { kind: KIND_PUT, key: k, value: v });
    this.checkOpen(); // a user codec may have closed the store
    const e = this.engine;
    const p = this.writeArgs(k, v);
    const kl = this.argKeyLen;
    const st = e.putIfVersion(p, kl, p + kl, this.argValueLen, expected);
    if (st === Status.CONDITION_FAILED) return false;
    if (st !== Status.OK) throw statusError(st, 'putIfVersion', this.engine);
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_PUT, key: k, value: v }], e.resultSeq()));
    return true;
  }

  deleteIfVersion(key: K, expected: number): boolean {
    this.checkWritable();
    checkVersion(expected);
    const k = this.encodableKey(key);
    if (this.batchWrites) return this.durableIfVersion(k, expected, { kind: KIND_DELETE, key: k, value: EMPTY });
    this.checkOpen(); // a user codec may have closed the store
    const e = this.engine;
    const p = this.writeArgs(k, EMPTY);
    const st = e.delIfVersion(p, this.argKeyLen, expected);
    if (st === Status.CONDITION_FAILED) return false;
    if (st !== Status.OK) throw statusError(st, 'deleteIfVersion', this.engine);
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_DELETE, key: k, value: EMPTY }], e.resultSeq()));
    return true;
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

  /** @internal restore() without its last step, for callers restoring in several calls. */
  async restoreRecords(source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>,
                       options?: RestoreOptions): Promise<RestoreProgress> {
    this.checkOpen();
    const disk = this.disk;
    const opts = this.restoreOptions(options ?? {});
    if (!disk || !this.logged) {
      disk?.checkWritable();
      return restoreInto(this.engine, source, opts, () => this.checkOpen());
    }
    disk.checkWritable();
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
    const st = this.engine.compact();
    if (st !== Status.OK) throw statusError(st, 'compact', this.engine);
    // The merged runs are written out now rather than a slice per later write: a compacted
    // store should be on disk (and its runs out of memory) when this resolves.
    if (this.disk) await this.disk.flush();
  }

  stats(): StoreStats {
    this.checkOpen();
    const background = this.engine.backgroundError();
    return decodeStats(this.engine.view, this.engine.statsPtr(), this.hooks.errors, background);
  }

  /** Closes the store: with a changelog as the log a last checkpoint, then the directory
   *  (everything acknowledged made durable) and every sink (flushed, closed), each tried
   *  whatever the others did. Rejects with the first failure, after releasing everything;
   *  a close that resolves lost nothing. Idempotent: later calls get the same promise. */
  close(): Promise<void> {
    if (this.hooks.appending) return Promise.reject(invalid('a changelog sink called close() from append(): the write it is taking is not applied yet'));
    this.closing ??= this.closeSteps();
    return this.closing;
  }

  private async closeSteps(): Promise<void> {
    let failure: unknown;
    if (this.disk && !this.logged && this.hooks.failure === undefined) {
      // The changelog is the log: what is not checkpointed would come back from it, but a
      // checkpoint now makes the next open quick.
      try { await this.checkpoint(); } catch (err) { failure = err; }
    }
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

  // ---- internals shared with snapshots -------------------------------------------------

  /** @internal */
  checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the store is closed');
    if (this.hooks.appending) throw invalid('a changelog sink called the store from append(): the write it is taking is not applied yet');
  }

  /** checkOpen, for a write: also refused inside a listener, or once a sink has failed. */
  private checkWritable(): void {
    this.checkOpen();
    if (this.hooks.notifying !== 0) {
      throw invalid('a write from an onChange listener is refused: it would reach the listeners before the write they are being told of (defer it, e.g. with queueMicrotask)');
    }
    if (this.hooks.failure) throw this.hooks.failure;
  }

  /** @internal */
  untrack(it: EngineIterator<any, any>): void {
    const a = this.iterators, i = it.slot;
    if (i < 0 || a[i] !== it) return;
    const last = a.pop()!;
    if (last !== it) { a[i] = last; last.slot = i; }
    it.slot = -1;
  }

  /** @internal */
  readGet(key: K, snapSeq: number): V | undefined {
    this.checkOpen();
    if (this.lookup(this.encodableKey(key), snapSeq) !== Status.OK) return undefined;
    const e = this.engine;
    return this.decodeValue(e.resultValuePtr() + this.valueOffset, e.resultValueLen() - this.valueOffset);
  }

  /** @internal */
  readHas(key: K, snapSeq: number): boolean {
    this.checkOpen();
    return this.lookup(this.encodableKey(key), snapSeq) === Status.OK;
  }

  /** @internal The key's bytes, checked (INVALID_ARGUMENT, KEY_TOO_LARGE). */
  encodeKey(key: K): Uint8Array {
    const k = this.encodableKey(key);
    return typeof k === 'string' ? utf8Bytes(k) : k;
  }

  /** @internal The key checked as encodeKey checks it, ready for writeEncodable. */
  encodableKey(key: K): Encodable {
    const fast = this.keyFast;
    let k = fast !== undefined ? encodableWith(fast, key, 'key') : encodeWith(this.keyCodec, key, 'key');
    if (typeof k === 'string') {
      if (k.length * 3 <= MAX_KEY_BYTES) return k; // fits whatever its characters
      k = utf8Bytes(k);
    }
    if (k.length > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `key of ${k.length} bytes exceeds ${MAX_KEY_BYTES}`);
    return k;
  }

  /** @internal */
  openIterator(from: Encodable | undefined, to: Encodable | undefined, options: RangeOptions | undefined,
               snapSeq: number, owner: IteratorOwner): KeyValueIterator<K, V> {
    owner.checkOpen();
    const { reverse, limit } = checkRangeOptions(options);
    const e = this.engine;
    let fb = from === undefined ? 0 : byteBound(from), tb = to === undefined ? 0 : byteBound(to);
    if (fb + tb > FAST_REGION) {
      fb = from === undefined ? 0 : byteLength(from);
      tb = to === undefined ? 0 : byteLength(to);
    }
    const p = e.reserve(fb + tb);
    const u8 = e.u8;
    const fl = from === undefined ? 0 : writeEncodable(from, u8, p, fb);
    const tl = to === undefined ? 0 : writeEncodable(to, u8, p + fl, tb);
    const pack = this.iteratorPacking;
    const flags = (from !== undefined ? ITER_LOWER : 0) | (to !== undefined ? ITER_UPPER : 0) | (reverse ? ITER_REVERSE : 0) | pack;
    const h = e.iterOpen(p, fl, p + fl, tl, flags, snapSeq);
    if (h < 0) throw statusError(-h, 'iterator open', this.engine);
    const it = new EngineIterator<K, V>(e, h, this.keyCodec, this.valueCodec,
      owner === this ? this : new ChainedOwner(owner, this), limit, this.ttlMs > 0 ? Date.now() : 0, pack);
    it.slot = this.iterators.push(it) - 1;
    return it;
  }

  /** @internal */
  releaseSnapshot(s: StoreSnapshot<K, V>, seq: number): void {
    if (!this.snapshots.delete(s)) return;
    if (!this.closed) this.engine.snapshotRelease(seq);
  }

  /** The value checked (INVALID_ARGUMENT, VALUE_TOO_LARGE), ready for writeEncodable. */
  private encodableValue(value: V): Encodable {
    const fast = this.valueFast;
    let v = fast !== undefined ? encodableWith(fast, value, 'value') : encodeWith(this.valueCodec, value, 'value');
    if (typeof v === 'string') {
      if (v.length * 3 <= FAST_REGION) return v;
      v = utf8Bytes(v); // long: its exact size is needed to reserve, so encode it now
    }
    const max = MAX_VALUE_BYTES - this.valueOffset;
    if (v.length > max) throw new StrataError('VALUE_TOO_LARGE', `value of ${v.length} bytes exceeds ${max}`);
    return v;
  }

  /** The value at (ptr, len) in linear memory, decoded. */
  private decodeValue(ptr: number, len: number): V {
    const fast = this.valueFast;
    return fast !== undefined ? fast.decodeFrom(this.engine.u8, ptr, len) : this.valueCodec.decode(this.engine.copyOut(ptr, len));
  }

  /** Writes key then value into the argument region and returns its pointer; the lengths
   *  written are left in argKeyLen and argValueLen. */
  private writeArgs(k: Encodable, v: Encodable): number {
    const e = this.engine;
    let kb = byteBound(k), vb = byteBound(v);
    if (kb + vb > FAST_REGION) { kb = byteLength(k); vb = byteLength(v); }
    const p = e.reserve(kb + vb);
    const u8 = e.u8;
    const kl = writeEncodable(k, u8, p, kb);
    this.argKeyLen = kl;
    this.argValueLen = writeEncodable(v, u8, p + kl, vb);
    return p;
  }

  private lookup(k: Encodable, snapSeq: number): number {
    const e = this.engine;
    const p = this.writeArgs(k, EMPTY);
    const st = e.get(p, this.argKeyLen, snapSeq);
    if (st !== Status.OK && st !== Status.NOT_FOUND) throw statusError(st, 'get', this.engine);
    if (st === Status.OK && this.ttlMs > 0 && this.expired(e.resultValuePtr(), e.resultValueLen())) return Status.NOT_FOUND;
    return st;
  }

  /** Writes a batch image (docs/ABI.md: kind u8 | keyLen u32 | valLen u32 | key | value). */
  private applyBatch(ops: EncodedOp[]): void {
    if (ops.length === 0) return;
    // Again here: a codec run since the caller's check may have closed the store, and the
    // expiry sweep comes here directly.
    this.checkWritable();
    const prefix = this.valueOffset; // with a ttl, a put's stored value starts with expiresAt
    let size = 0;
    for (const op of ops) size += 9 + byteBound(op.key) + byteBound(op.value) + prefix;
    if (size > FAST_REGION) {
      size = 0;
      for (const op of ops) size += 9 + byteLength(op.key) + byteLength(op.value) + prefix;
    }
    const now = prefix !== 0 ? Date.now() : 0;
    const expiresAt = now + this.ttlMs;
    const e = this.engine;
    const base = e.reserve(size);
    const end = base + size;
    const view = e.view;
    const u8 = e.u8;
    let p = base;
    for (const op of ops) {
      const kl = writeEncodable(op.key, u8, p + 9, end - p - 9);
      let vl = 0;
      if (op.kind === KIND_PUT && prefix !== 0) {
        view.setFloat64(p + 9 + kl, expiresAt, true);
        vl = prefix + writeEncodable(op.value, u8, p + 9 + kl + prefix, end - p - 9 - kl - prefix);
      } else {
        vl = writeEncodable(op.value, u8, p + 9 + kl, end - p - 9 - kl);
      }
      view.setUint8(p, op.kind);
      view.setUint32(p + 1, kl, true);
      view.setUint32(p + 5, vl, true);
      p += 9 + kl + vl;
    }
    size = p - base;
    // Validate: once prepared, applying this image cannot fail (in between the engine is only
    // read, and its expiry clock set: sinks cannot call the store, see checkOpen).
    const disk = this.logged ? this.disk! : undefined;
    const hooks = this.hooks;
    let token = 0;
    if (disk || hooks.hasSinks) {
      disk?.checkWritable();
      token = e.prepare(base, size, ops.length);
      if (token < 0) throw statusError(-token, 'batch write', this.engine);
    }
    // Log: the write-ahead log, then the sinks; a refusal takes the log record back.
    const mark = disk?.logBatch(e.u8.subarray(base, base + size), ops.length);
    const records = hooks.hasSinks || hooks.listening
      ? hooks.recordsOf(ops, e.lastSeq() + ops.length, prefix !== 0 ? expiresAt : undefined) : undefined;
    if (hooks.hasSinks) {
      try {
        hooks.append(records!);
      } catch (err) {
        if (disk) disk.unlog(mark);
        throw err;
      }
    }
    // Apply: the commit point.
    if (prefix !== 0) e.setExpiryClock(now);
    const st = token !== 0 ? e.applyPrepared(token) : e.writeBatch(base, size, ops.length);
    if (st !== Status.OK) {
      if (disk) disk.unlog(mark);
      const err = statusError(st, 'batch write', this.engine);
      if (hooks.hasSinks) hooks.fail(err); // they took a write that is not applied
      throw err;
    }
    // Committed: background work and listeners report their failures elsewhere.
    this.disk?.afterChange();
    if (records !== undefined && hooks.listening) hooks.notify(records);
  }

  /** putIfVersion / deleteIfVersion on a store with a log: the version check, then the
   *  logged write path (single-threaded, so nothing can come between the two). */
  private durableIfVersion(k: Encodable, expected: number, op: EncodedOp): boolean {
    const current = this.lookup(k, READ_NOW) === Status.OK ? this.engine.resultSeq() : 0;
    if (current !== expected) return false;
    this.applyBatch([op]);
    return true;
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
