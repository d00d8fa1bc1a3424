// StoreCore: a Store's state and the internals every part of it shares: the engine, the
// codecs (with their fast paths, codecs.ts), the hooks, the directory; encoding and checking
// a key or value into the engine's argument region (arguments.ts); a point lookup; the
// open/closed checks. Keys and values are encoded by codecs into the argument region and
// passed as (ptr, len); results are decoded from linear memory. The built-in codecs have a
// fast path that writes straight into the region and decodes without copying where the
// result keeps no bytes; user codecs go through encode/decode and a copy. Every argument is
// validated before the engine is called, so a failed call changes nothing.
//
// The Store class is built in layers, one file each (a class chain, so each part reads the
// state directly, as one class would): StoreCore (this) -> StoreReads (reads.ts: point
// reads, iterators, snapshots) -> StoreWrites (write-protocol.ts: the writes, the
// conditional writes, the write protocol) -> Store (store.ts: open, restore, checkpoints,
// flush, compact, stats, close).
import { Engine, Status, MAX_KEY_BYTES, MAX_VALUE_BYTES, statusError } from '../engine/abi.js';
import { codecs, fastPathOf, utf8Bytes, type Codec, type CodecFastPath } from '../codecs.js';
import {
  FAST_REGION, EMPTY, encodeWith, encodableWith, byteBound, byteLength, writeEncodable,
  type Encodable, type EncodedOp,
} from './arguments.js';
import { StrataError, invalid } from '../errors.js';
import { packFlags, type EngineIterator, type IteratorOwner } from './iterator.js';
import type { StoreSnapshot } from './snapshot.js';
import { ChangeHooks } from './change-hooks.js';
import { ExpirySweeper } from './expiry.js';
import { sinksOf } from '../changelog/contract.js';
import type { StoreOptions } from './options.js';
import type { RestoreOptions } from '../changelog/restore.js';
import type { Disk } from '../storage/persistence-core.js';
import { MergeOperators } from './merge-operators.js';
import type { BackgroundCompaction } from '../background/background.js';

export abstract class StoreCore<K = Uint8Array, V = Uint8Array> implements IteratorOwner {
  protected readonly engine: Engine;
  protected readonly keyCodec: Codec<K>;
  protected readonly valueCodec: Codec<V>;
  protected readonly keyFast: CodecFastPath<K> | undefined;
  /** iter_open's pack flags for this store's codecs (packFlags), fixed with them. */
  protected readonly iteratorPacking: number;
  protected readonly valueFast: CodecFastPath<V> | undefined;
  /** Lengths written by the last writeArgs. */
  protected argKeyLen = 0;
  protected argValueLen = 0;
  protected readonly partitionNo: number;
  protected readonly hooks: ChangeHooks;
  /** Open iterators, each at its `slot`: an array, as a Set's add and delete cost ~0.5 µs a
   *  pair, a tenth of a short range. */
  protected readonly iterators: EngineIterator<K, V>[] = [];
  protected readonly snapshots = new Set<StoreSnapshot<K, V>>();
  protected closed = false;
  /** The directory side (log, run files, manifest) of a store opened with `path`. */
  protected readonly disk: Disk | undefined;
  /** Writes go through the directory's write-ahead log (a `path` store with no changelog
   *  to restore from). */
  protected readonly logged: boolean;
  /** Entries' time to live in ms, 0 for none. With a ttl every stored value is an f64
   *  expiresAt (ms since the epoch, little-endian) followed by the user's bytes. */
  protected readonly ttlMs: number;
  /** Bytes before the user's value in a stored value: 8 with a ttl, else 0. */
  protected readonly valueOffset: number;
  /** Writes that take the batch path: with a log or sinks (prepare, log, apply) or a ttl. */
  protected readonly batchWrites: boolean;
  /** Deletes expired entries through the write path (stores with ttlMs). */
  protected readonly sweeper: ExpirySweeper;
  /** The merge operators, built-in and the store's own (merge-operators.ts). */
  protected readonly merges: MergeOperators<V>;
  /** Compactions merged off this thread, when on (background/background.ts): told after
   *  every engine call that writes, a safe point to install or hand out a job. */
  protected background: BackgroundCompaction | undefined;
  /** The last lookup met merge operands: their folded value (resultValue returns it). */
  private folded: { value: V } | undefined;

  protected constructor(engine: Engine, options: StoreOptions<K, V>, disk: Disk | undefined) {
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
    this.merges = new MergeOperators<V>(options.mergeOperators, this.valueCodec);
    engine.compactionFolder = this.merges;
  }

  /** The write protocol (write-protocol.ts); the expiry sweep writes through it. */
  protected abstract applyBatch(ops: EncodedOp[]): void;

  /** Before an engine call that may compact: the clock expired values are dropped by. */
  protected setExpiryClock(): void {
    if (this.ttlMs > 0) this.engine.setExpiryClock(Date.now());
  }

  /** Restore options with this store's ttl, for restoreInto. */
  protected restoreOptions(options: RestoreOptions): RestoreOptions {
    this.setExpiryClock();
    return this.ttlMs === 0 ? options : { ...options, ttl: { ttlMs: this.ttlMs, now: Date.now() } } as RestoreOptions;
  }

  /** Whether the stored value at (ptr, len) of a ttl store has expired. */
  protected expired(ptr: number, len: number): boolean {
    return len >= 8 && this.engine.view.getFloat64(ptr, true) <= Date.now();
  }

  // ---- internals shared with snapshots -------------------------------------------------

  /** @internal */
  checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the store is closed');
    if (this.hooks.appending) throw invalid('a changelog sink called the store from append(): the write it is taking is not applied yet');
    if (this.merges.folding) throw invalid('a merge operator called the store: operators must be pure functions of their arguments');
  }

  /** checkOpen, for a write: also refused inside a listener, or once a sink has failed. */
  protected checkWritable(): void {
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

  /** The value checked (INVALID_ARGUMENT, VALUE_TOO_LARGE), ready for writeEncodable. */
  protected encodableValue(value: V): Encodable {
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
  protected decodeValue(ptr: number, len: number): V {
    const fast = this.valueFast;
    return fast !== undefined ? fast.decodeFrom(this.engine.u8, ptr, len) : this.valueCodec.decode(this.engine.copyOut(ptr, len));
  }

  /** The last lookup's folded value, when it met merge operands. */
  protected foldedValue(): { value: V } | undefined { return this.folded; }

  /** The value the last lookup found (OK): decoded from linear memory, or folded. */
  protected resultValue(): V {
    const f = this.folded;
    if (f !== undefined) return f.value;
    const e = this.engine;
    return this.decodeValue(e.resultValuePtr() + this.valueOffset, e.resultValueLen() - this.valueOffset);
  }

  /** Writes key then value (after `before`, a merge operand's operator) into the argument
   *  region and returns its pointer; the lengths written are left in argKeyLen and
   *  argValueLen (`before` counted in the value). */
  protected writeArgs(k: Encodable, v: Encodable, before?: Uint8Array): number {
    const e = this.engine;
    const n = before === undefined ? 0 : before.length;
    let kb = byteBound(k), vb = byteBound(v);
    if (kb + vb + n > FAST_REGION) { kb = byteLength(k); vb = byteLength(v); }
    const p = e.reserve(kb + n + vb);
    const u8 = e.u8;
    const kl = writeEncodable(k, u8, p, kb);
    this.argKeyLen = kl;
    if (before !== undefined) u8.set(before, p + kl);
    this.argValueLen = n + writeEncodable(v, u8, p + kl + n, vb);
    return p;
  }

  /** Looks `k` up at snapSeq: OK (the value is resultValue(), its version engine.resultSeq())
   *  or NOT_FOUND. A key whose newest version is a merge operand is OK, its chain folded now
   *  unless `fold` is false (a caller that needs only presence or the version). */
  protected lookup(k: Encodable, snapSeq: number, fold = true): number {
    // The key was encoded after the caller's check: a user codec may have closed the store,
    // whose run files are then closed too (a read of them would fail as IO_ERROR).
    this.checkOpen();
    const e = this.engine;
    const p = this.writeArgs(k, EMPTY);
    const st = e.get(p, this.argKeyLen, snapSeq);
    this.folded = undefined;
    if (st === Status.MERGED) {
      // Read in place: the store refuses calls during a fold, so RESULT stays intact.
      if (fold) this.folded = { value: this.merges.fold(e.u8, e.resultValuePtr(), e.resultValueLen()) };
      return Status.OK;
    }
    if (st !== Status.OK && st !== Status.NOT_FOUND) throw statusError(st, 'get', this.engine);
    if (st === Status.OK && this.ttlMs > 0 && this.expired(e.resultValuePtr(), e.resultValueLen())) return Status.NOT_FOUND;
    return st;
  }
}
