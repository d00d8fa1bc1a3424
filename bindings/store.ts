// Store: the typed API over one engine instance (assembly/). Keys and values are encoded
// by codecs, copied into the engine's argument region and passed as (ptr, len); results
// are copied out of linear memory. Every argument is validated before the engine is
// called, so a failed call changes nothing.
import { Engine, Status, MAX_KEY_BYTES, MAX_VALUE_BYTES, instantiateEngine, statusError } from './abi.js';
import { codecs, type Codec } from './codecs.js';
import { StrataError, invalid } from './errors.js';
import { EngineIterator, type KeyValueIterator, type IteratorOwner } from './iterator.js';
import type { ChangeRecord, ChangelogSink } from './changelog.js';
import { resolveTuning, type StoreOptions } from './options.js';
import { decodeStats, type StoreStats } from './stats.js';
import { restoreInto, type RestoreOptions, type RestoreProgress } from './restore.js';
import { Persistence } from './persistence.js';

export type WriteOp<K, V> = { type: 'put'; key: K; value: V } | { type: 'del'; key: K };
export interface RangeOptions { reverse?: boolean; limit?: number }

export interface Snapshot<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  range(from: K, to: K, o?: RangeOptions): KeyValueIterator<K, V>;
  all(o?: RangeOptions): KeyValueIterator<K, V>;
  close(): void;
}

const NOW = -1;
const KIND_DELETE = 0;
const KIND_PUT = 1;
const FLAG_LOWER = 1, FLAG_UPPER = 2, FLAG_REVERSE = 4;

/** An operation encoded and checked, ready for the engine. */
interface EncodedOp { kind: number; key: Uint8Array; value: Uint8Array }

export class Store<K = Uint8Array, V = Uint8Array> implements IteratorOwner {
  private readonly engine: Engine;
  private readonly keyCodec: Codec<K>;
  private readonly valueCodec: Codec<V>;
  private readonly partitionNo: number;
  private readonly sinks: ChangelogSink[];
  private readonly listeners = new Set<(records: ChangeRecord[]) => void>();
  private readonly iterators = new Set<EngineIterator<K, V>>();
  private readonly snapshots = new Set<StoreSnapshot<K, V>>();
  private listenerErrors = 0;
  private closed = false;
  /** The directory side (log, run files, manifest) of a store opened with `path`. */
  private readonly disk: Persistence | undefined;

  private constructor(engine: Engine, options: StoreOptions<K, V>, disk: Persistence | undefined) {
    this.engine = engine;
    this.disk = disk;
    this.keyCodec = options.keyCodec ?? (codecs.bytes as unknown as Codec<K>);
    this.valueCodec = options.valueCodec ?? (codecs.bytes as unknown as Codec<V>);
    this.partitionNo = options.partition ?? 0;
    const cl = options.changelog;
    this.sinks = cl === undefined ? [] : Array.isArray(cl) ? [...cl] : [cl];
  }

  static async open<K = Uint8Array, V = Uint8Array>(options: StoreOptions<K, V> = {}): Promise<Store<K, V>> {
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
      throw invalid('path must be a non-empty string (a directory)');
    }
    if (options.sync !== undefined && typeof options.sync !== 'boolean') throw invalid('sync must be a boolean');
    for (const [name, c] of [['keyCodec', options.keyCodec], ['valueCodec', options.valueCodec]] as const) {
      if (c !== undefined && (typeof c?.encode !== 'function' || typeof c?.decode !== 'function')) {
        throw invalid(`${name} must have encode and decode functions`);
      }
    }
    const p = options.partition ?? 0;
    if (!Number.isInteger(p) || p < 0) throw invalid('partition must be a non-negative integer');
    const sinks = options.changelog === undefined ? [] : Array.isArray(options.changelog) ? options.changelog : [options.changelog];
    for (const s of sinks) if (typeof s?.append !== 'function') throw invalid('every changelog sink needs an append function');
    const t = resolveTuning(options as StoreOptions<unknown, unknown>);
    const engine = await instantiateEngine();
    const st = engine.x.init(t.memtableBytes, t.blockBytes, t.bloomBitsPerKey, t.level0CompactionTrigger,
      t.levelBaseBytes, t.levelSizeMultiplier, t.runTargetBytes, t.autoCompaction ? 1 : 0, t.maxMemoryBytes);
    if (st !== Status.OK) throw statusError(st, 'engine init');
    const disk = options.path === undefined ? undefined : Persistence.open(options.path, engine, options.sync === true);
    return new Store<K, V>(engine, options, disk);
  }

  // ---- reads ---------------------------------------------------------------------------

  get(key: K): V | undefined { return this.readGet(key, NOW); }
  has(key: K): boolean { this.checkOpen(); return this.lookup(this.encodeKey(key), NOW) === Status.OK; }

  getAll(keys: readonly K[]): (V | undefined)[] {
    this.checkOpen();
    if (!Array.isArray(keys)) throw invalid('getAll expects an array of keys');
    const encoded = keys.map((k) => this.encodeKey(k));
    let size = 0;
    for (const k of encoded) size += 4 + k.length;
    const outOffset = (size + 7) & ~7;
    const base = this.engine.reserve(outOffset + encoded.length * 8);
    let view = this.engine.view;
    const u8 = this.engine.u8;
    let p = base;
    for (const k of encoded) { view.setUint32(p, k.length, true); u8.set(k, p + 4); p += 4 + k.length; }
    const st = this.engine.x.get_many(base, encoded.length, base + outOffset, NOW);
    if (st !== Status.OK) throw statusError(st, 'getAll');
    view = this.engine.view;
    const out: (V | undefined)[] = new Array(encoded.length);
    for (let i = 0; i < encoded.length; i++) {
      const vp = view.getUint32(base + outOffset + i * 8, true);
      const vl = view.getUint32(base + outOffset + i * 8 + 4, true);
      out[i] = vl === 0xffffffff ? undefined : this.valueCodec.decode(this.engine.copyOut(vp, vl));
    }
    return out;
  }

  getVersioned(key: K): { value: V; version: number } | undefined {
    this.checkOpen();
    if (this.lookup(this.encodeKey(key), NOW) !== Status.OK) return undefined;
    const e = this.engine;
    const version = e.resultSeq();
    return { value: this.valueCodec.decode(e.copyOut(e.resultValuePtr(), e.resultValueLen())), version };
  }

  range(from: K, to: K, options?: RangeOptions): KeyValueIterator<K, V> {
    return this.openIterator(this.encodeKey(from), this.encodeKey(to), options, NOW, this);
  }

  all(options?: RangeOptions): KeyValueIterator<K, V> {
    return this.openIterator(undefined, undefined, options, NOW, this);
  }

  snapshot(): Snapshot<K, V> {
    this.checkOpen();
    const seq = this.engine.x.snapshot_acquire();
    const s = new StoreSnapshot<K, V>(this, seq);
    this.snapshots.add(s);
    return s;
  }

  // ---- writes --------------------------------------------------------------------------

  put(key: K, value: V): void {
    this.checkOpen();
    const k = this.encodeKey(key);
    const v = this.encodeValue(value);
    if (this.disk) { this.applyBatch([{ kind: KIND_PUT, key: k, value: v }]); return; }
    const e = this.engine;
    const p = e.reserve(k.length + v.length);
    const u8 = e.u8;
    u8.set(k, p);
    u8.set(v, p + k.length);
    const st = e.x.put(p, k.length, p + k.length, v.length);
    if (st !== Status.OK) throw statusError(st, 'put');
    this.committed([{ kind: KIND_PUT, key: k, value: v }], e.resultSeq());
  }

  delete(key: K): void {
    this.checkOpen();
    const k = this.encodeKey(key);
    if (this.disk) { this.applyBatch([{ kind: KIND_DELETE, key: k, value: EMPTY }]); return; }
    const e = this.engine;
    const p = e.reserve(k.length);
    e.u8.set(k, p);
    const st = e.x.del(p, k.length);
    if (st !== Status.OK) throw statusError(st, 'delete');
    this.committed([{ kind: KIND_DELETE, key: k, value: EMPTY }], e.resultSeq());
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    this.checkOpen();
    const ops: EncodedOp[] = [];
    for (const entry of iterate(entries, 'putAll')) {
      if (!Array.isArray(entry) || entry.length < 2) throw invalid('putAll expects [key, value] pairs');
      ops.push({ kind: KIND_PUT, key: this.encodeKey(entry[0]), value: this.encodeValue(entry[1]) });
    }
    this.applyBatch(ops);
  }

  deleteAll(keys: Iterable<K>): void {
    this.checkOpen();
    const ops: EncodedOp[] = [];
    for (const key of iterate(keys, 'deleteAll')) ops.push({ kind: KIND_DELETE, key: this.encodeKey(key), value: EMPTY });
    this.applyBatch(ops);
  }

  write(ops: Iterable<WriteOp<K, V>>): void {
    this.checkOpen();
    const encoded: EncodedOp[] = [];
    for (const op of iterate(ops, 'write')) {
      if (op === null || typeof op !== 'object') throw invalid('write expects { type, key, value? } operations');
      if (op.type === 'put') encoded.push({ kind: KIND_PUT, key: this.encodeKey(op.key), value: this.encodeValue(op.value) });
      else if (op.type === 'del') encoded.push({ kind: KIND_DELETE, key: this.encodeKey(op.key), value: EMPTY });
      else throw invalid(`unknown operation type ${String((op as { type?: unknown }).type)}`);
    }
    this.applyBatch(encoded);
  }

  putIfVersion(key: K, value: V, expected: number): boolean {
    this.checkOpen();
    checkVersion(expected);
    const k = this.encodeKey(key);
    const v = this.encodeValue(value);
    if (this.disk) return this.durableIfVersion(k, expected, { kind: KIND_PUT, key: k, value: v });
    const e = this.engine;
    const p = e.reserve(k.length + v.length);
    const u8 = e.u8;
    u8.set(k, p);
    u8.set(v, p + k.length);
    const st = e.x.put_if_version(p, k.length, p + k.length, v.length, expected);
    if (st === Status.CONDITION_FAILED) return false;
    if (st !== Status.OK) throw statusError(st, 'putIfVersion');
    this.committed([{ kind: KIND_PUT, key: k, value: v }], e.resultSeq());
    return true;
  }

  deleteIfVersion(key: K, expected: number): boolean {
    this.checkOpen();
    checkVersion(expected);
    const k = this.encodeKey(key);
    if (this.disk) return this.durableIfVersion(k, expected, { kind: KIND_DELETE, key: k, value: EMPTY });
    const e = this.engine;
    const p = e.reserve(k.length);
    e.u8.set(k, p);
    const st = e.x.del_if_version(p, k.length, expected);
    if (st === Status.CONDITION_FAILED) return false;
    if (st !== Status.OK) throw statusError(st, 'deleteIfVersion');
    this.committed([{ kind: KIND_DELETE, key: k, value: EMPTY }], e.resultSeq());
    return true;
  }

  // ---- changelog hook ------------------------------------------------------------------

  /** Calls `listener` synchronously after every commit with that commit's records. */
  onChange(listener: (records: ChangeRecord[]) => void): () => void {
    this.checkOpen();
    if (typeof listener !== 'function') throw invalid('onChange expects a function');
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
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
    this.checkOpen();
    const disk = this.disk;
    if (!disk) return restoreInto(this.engine, source, options ?? {}, () => this.checkOpen());
    disk.checkWritable();
    const progress = await restoreInto(this.engine, source, options ?? {}, () => this.checkOpen(), (image, count, firstSeq) => {
      disk.logRestore(image, count, firstSeq);
      disk.afterChange();
    });
    disk.flush(); // a restore is durable when it resolves
    return progress;
  }

  // ---- maintenance ---------------------------------------------------------------------

  async flush(): Promise<void> {
    this.checkOpen();
    const st = this.engine.x.flush();
    if (st !== Status.OK) throw statusError(st, 'flush');
    this.disk?.flush();
    for (const s of this.sinks) await s.flush?.();
  }

  async compact(): Promise<void> {
    this.checkOpen();
    this.disk?.checkWritable();
    const st = this.engine.x.compact();
    if (st !== Status.OK) throw statusError(st, 'compact');
    this.disk?.afterChange();
  }

  stats(): StoreStats {
    this.checkOpen();
    this.engine.x.stats();
    return decodeStats(this.engine.view, this.engine.x.stats_ptr(), this.listenerErrors);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const it of [...this.iterators]) it.detach();
    for (const s of [...this.snapshots]) s.detach();
    this.iterators.clear();
    this.snapshots.clear();
    this.listeners.clear();
    if (this.disk) {
      this.engine.x.flush(); // on OUT_OF_MEMORY the log still holds the memtable's writes
      this.disk.close();
    }
    for (const s of this.sinks) {
      await s.flush?.();
      await s.close?.();
    }
  }

  // ---- internals shared with snapshots -------------------------------------------------

  /** @internal */
  checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the store is closed');
  }

  /** @internal */
  untrack(it: EngineIterator<any, any>): void { this.iterators.delete(it); }

  /** @internal */
  readGet(key: K, snapSeq: number): V | undefined {
    this.checkOpen();
    if (this.lookup(this.encodeKey(key), snapSeq) !== Status.OK) return undefined;
    const e = this.engine;
    return this.valueCodec.decode(e.copyOut(e.resultValuePtr(), e.resultValueLen()));
  }

  /** @internal */
  readHas(key: K, snapSeq: number): boolean {
    this.checkOpen();
    return this.lookup(this.encodeKey(key), snapSeq) === Status.OK;
  }

  /** @internal */
  encodeKey(key: K): Uint8Array {
    const k = encodeWith(this.keyCodec, key, 'key');
    if (k.length > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `key of ${k.length} bytes exceeds ${MAX_KEY_BYTES}`);
    return k;
  }

  /** @internal */
  openIterator(from: Uint8Array | undefined, to: Uint8Array | undefined, options: RangeOptions | undefined,
               snapSeq: number, owner: IteratorOwner): KeyValueIterator<K, V> {
    owner.checkOpen();
    const { reverse, limit } = checkRangeOptions(options);
    const e = this.engine;
    const fl = from?.length ?? 0, tl = to?.length ?? 0;
    const p = e.reserve(fl + tl);
    if (from) e.u8.set(from, p);
    if (to) e.u8.set(to, p + fl);
    const flags = (from ? FLAG_LOWER : 0) | (to ? FLAG_UPPER : 0) | (reverse ? FLAG_REVERSE : 0);
    const h = e.x.iter_open(p, fl, p + fl, tl, flags, snapSeq);
    if (h < 0) throw statusError(-h, 'iterator open');
    const it = new EngineIterator<K, V>(e, h, this.keyCodec, this.valueCodec,
      owner === this ? this : new ChainedOwner(owner, this), limit);
    this.iterators.add(it);
    return it;
  }

  /** @internal */
  releaseSnapshot(s: StoreSnapshot<K, V>, seq: number): void {
    if (!this.snapshots.delete(s)) return;
    if (!this.closed) this.engine.x.snapshot_release(seq);
  }

  private encodeValue(value: V): Uint8Array {
    const v = encodeWith(this.valueCodec, value, 'value');
    if (v.length > MAX_VALUE_BYTES) throw new StrataError('VALUE_TOO_LARGE', `value of ${v.length} bytes exceeds ${MAX_VALUE_BYTES}`);
    return v;
  }

  private lookup(k: Uint8Array, snapSeq: number): number {
    const e = this.engine;
    const p = e.reserve(k.length);
    e.u8.set(k, p);
    const st = e.x.get(p, k.length, snapSeq);
    if (st !== Status.OK && st !== Status.NOT_FOUND) throw statusError(st, 'get');
    return st;
  }

  /** Writes a batch image (docs/ABI.md: kind u8 | keyLen u32 | valLen u32 | key | value). */
  private applyBatch(ops: EncodedOp[]): void {
    if (ops.length === 0) return;
    let size = 0;
    for (const op of ops) size += 9 + op.key.length + op.value.length;
    const e = this.engine;
    const base = e.reserve(size);
    const view = e.view;
    const u8 = e.u8;
    let p = base;
    for (const op of ops) {
      view.setUint8(p, op.kind);
      view.setUint32(p + 1, op.key.length, true);
      view.setUint32(p + 5, op.value.length, true);
      u8.set(op.key, p + 9);
      u8.set(op.value, p + 9 + op.key.length);
      p += 9 + op.key.length + op.value.length;
    }
    const disk = this.disk;
    if (disk) {
      disk.checkWritable();
      const prepared = e.x.prepare_batch(base, size, ops.length);
      if (prepared !== Status.OK) throw statusError(prepared, 'batch write');
      disk.logBatch(e.u8.subarray(base, base + size), ops.length);
    }
    const st = e.x.write_batch(base, size, ops.length);
    if (st !== Status.OK) throw statusError(st, 'batch write');
    const lastSeq = e.resultSeq();
    disk?.afterChange();
    this.committed(ops, lastSeq);
  }

  /** putIfVersion / deleteIfVersion on a store with a log: the version check, then the
   *  logged write path (single-threaded, so nothing can come between the two). */
  private durableIfVersion(k: Uint8Array, expected: number, op: EncodedOp): boolean {
    const current = this.lookup(k, NOW) === Status.OK ? this.engine.resultSeq() : 0;
    if (current !== expected) return false;
    this.applyBatch([op]);
    return true;
  }

  /** Runs the changelog hook for a commit whose last sequence is `lastSeq`. */
  private committed(ops: EncodedOp[], lastSeq: number): void {
    if (this.listeners.size === 0 && this.sinks.length === 0) return;
    const first = lastSeq - ops.length + 1;
    const records: ChangeRecord[] = ops.map((op, i) => ({
      partition: this.partitionNo,
      seq: first + i,
      key: op.key.slice(),
      value: op.kind === KIND_PUT ? op.value.slice() : null,
    }));
    let failure: unknown;
    for (const l of [...this.listeners]) {
      try { l(records); } catch (err) { this.listenerErrors++; failure ??= err; }
    }
    for (const s of this.sinks) {
      try {
        const r = s.append(records);
        if (r && typeof (r as Promise<void>).then === 'function') {
          (r as Promise<void>).catch(() => { this.listenerErrors++; });
        }
      } catch (err) { this.listenerErrors++; failure ??= err; }
    }
    if (failure !== undefined) throw failure;
  }
}

const EMPTY = new Uint8Array(0);

class StoreSnapshot<K, V> implements Snapshot<K, V>, IteratorOwner {
  private closed = false;
  constructor(private readonly store: Store<K, V>, private readonly seq: number) {}

  checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the snapshot is closed');
    this.store.checkOpen();
  }
  untrack(): void {}

  get(key: K): V | undefined { this.checkOpen(); return this.store.readGet(key, this.seq); }
  has(key: K): boolean { this.checkOpen(); return this.store.readHas(key, this.seq); }
  range(from: K, to: K, o?: RangeOptions): KeyValueIterator<K, V> {
    this.checkOpen();
    return this.store.openIterator(this.store.encodeKey(from), this.store.encodeKey(to), o, this.seq, this);
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
class ChainedOwner implements IteratorOwner {
  constructor(private readonly outer: IteratorOwner, private readonly store: IteratorOwner) {}
  checkOpen(): void { this.outer.checkOpen(); }
  untrack(it: EngineIterator<any, any>): void { this.store.untrack(it); }
}

function encodeWith<T>(codec: Codec<T>, value: T, what: string): Uint8Array {
  let out: unknown;
  try {
    out = codec.encode(value);
  } catch (err) {
    if (err instanceof StrataError) throw err;
    throw new StrataError('INVALID_ARGUMENT', `${what} cannot be encoded: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  if (!(out instanceof Uint8Array)) throw invalid(`${what} codec must return a Uint8Array`);
  return out;
}

function iterate<T>(items: Iterable<T>, what: string): Iterable<T> {
  if (items === null || items === undefined || typeof (items as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw invalid(`${what} expects an iterable`);
  }
  return items;
}

function checkVersion(expected: number): void {
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
    throw invalid(`expected version must be a non-negative safe integer, got ${String(expected)}`);
  }
}

function checkRangeOptions(options: RangeOptions | undefined): { reverse: boolean; limit: number } {
  if (options === undefined) return { reverse: false, limit: Infinity };
  if (options === null || typeof options !== 'object') throw invalid('range options must be an object');
  const reverse = options.reverse ?? false;
  if (typeof reverse !== 'boolean') throw invalid('reverse must be a boolean');
  const limit = options.limit ?? Infinity;
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0 || (limit !== Infinity && !Number.isInteger(limit))) {
    throw invalid(`limit must be a non-negative integer, got ${String(limit)}`);
  }
  return { reverse, limit };
}
