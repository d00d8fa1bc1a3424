// StoreWrites: a Store's writes (store-core.ts explains the layers): put, delete, the
// atomic batches, the conditional writes, and the write protocol they all go through.
//
// The write protocol (docs/LSM.md, "The write protocol"): validate -> log -> apply -> notify.
// A write is encoded, checked and its memory reserved (prepare_batch); then appended to the
// write-ahead log and to every changelog sink, any of which may refuse it (the log is cut
// back, nothing is applied, the call throws); then applied, which cannot fail; then handed
// to the onChange listeners. Past "apply" the write is committed: nothing after it (run-file
// writing, a listener) makes the call throw; such failures are kept and reported by the
// next write, flush, checkpoint or close, or to onListenerError.
import { Status, statusError, READ_NOW } from '../engine/abi.js';
import {
  FAST_REGION, KIND_DELETE, KIND_DELETE_RANGE, KIND_MERGE, KIND_PUT, EMPTY, byteBound, byteLength, writeEncodable, iterate, bytesOf,
  checkVersion, type Encodable, type EncodedOp,
} from './arguments.js';
import { StrataError, invalid, shown } from '../errors.js';
import { MAX_VALUE_BYTES } from '../engine/abi.js';
import { utf8Bytes } from '../codecs.js';
import { compareBytes, keyId } from '../key-range.js';
import { StoreReads } from './reads.js';

export type WriteOp<K, V> =
  | { type: 'put'; key: K; value: V }
  | { type: 'del'; key: K }
  /** merge(key, value, operator) in the batch (docs/API.md, "Merge operators"). */
  | { type: 'merge'; key: K; value: V; operator?: string };

/** A batch's name for an encoded key (write's merges look up the batch's earlier writes). */
const batchKeyId = (k: Encodable): string => (typeof k === 'string' ? `s${k}` : `b${keyId(k)}`);

export abstract class StoreWrites<K = Uint8Array, V = Uint8Array> extends StoreReads<K, V> {
  // ---- writes --------------------------------------------------------------------------

  put(key: K, value: V): void {
    this.checkWritable();
    this.putEncoded(this.encodableKey(key), this.encodableValue(value));
  }

  private putEncoded(k: Encodable, v: Encodable): void {
    if (this.batchWrites) { this.applyBatch([{ kind: KIND_PUT, key: k, value: v }]); return; }
    this.checkOpen(); // a user codec may have closed the store
    const e = this.engine;
    const p = this.writeArgs(k, v);
    const kl = this.argKeyLen;
    const st = e.put(p, kl, p + kl, this.argValueLen);
    if (st !== Status.OK) throw statusError(st, 'put', this.engine);
    this.background?.afterCall();
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
    this.background?.afterCall();
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_DELETE, key: k, value: EMPTY }], e.resultSeq()));
  }

  /**
   * Deletes every key in [from, to) with one range tombstone (docs/LSM.md, "Range
   * deletions"): one write, whatever the number of keys. from = to deletes nothing; from
   * after to is INVALID_ARGUMENT. Sinks and listeners get one record { key: from, value:
   * null, rangeEnd: to }, through the write protocol as any write.
   */
  deleteRange(from: K, to: K): void {
    this.checkWritable();
    const f = this.encodableKey(from);
    const t = this.encodableKey(to);
    const c = compareBytes(bytesOf(f), bytesOf(t));
    if (c > 0) throw invalid('deleteRange: from must not come after to');
    if (c === 0) return;
    if (this.batchWrites) { this.applyBatch([{ kind: KIND_DELETE_RANGE, key: f, value: t }]); return; }
    this.checkOpen(); // a user codec may have closed the store
    const p = this.writeArgs(f, t);
    const kl = this.argKeyLen;
    const e = this.engine;
    const st = e.deleteRange(p, kl, p + kl, this.argValueLen);
    if (st !== Status.OK) throw statusError(st, 'deleteRange', this.engine);
    this.background?.afterCall();
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_DELETE_RANGE, key: f, value: t }], e.resultSeq()));
  }

  /**
   * Folds `operand` into the key's value with the merge operator `name` (docs/API.md, "Merge
   * operators"): a blind write of the operand, folded by reads and compactions, so it costs
   * no read. The operator is checked now (INVALID_ARGUMENT when unknown). A store with a
   * changelog sink or an onChange listener writes the resulting value instead (a read, the
   * fold, a put), so its records need no operator to restore or replicate. Not on a store
   * with ttlMs (INVALID_ARGUMENT).
   */
  merge(key: K, operand: V, name?: string): void {
    this.checkWritable();
    const k = this.encodableKey(key);
    if (this.hooks.hasSinks || this.hooks.listening) {
      this.putEncoded(k, this.encodableValue(this.foldedPut(k, operand, name, undefined)));
      return;
    }
    const op = this.operandOp(k, operand, name);
    if (this.batchWrites) { this.applyBatch([op]); return; }
    this.checkOpen(); // a user codec may have closed the store
    const p = this.writeArgs(k, op.value, op.operator);
    const kl = this.argKeyLen;
    const st = this.engine.merge(p, kl, p + kl, this.argValueLen);
    if (st !== Status.OK) throw statusError(st, 'merge', this.engine);
    this.background?.afterCall();
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
    // With sinks or listeners a merge is written as its folded value: the batch's own earlier
    // writes of the key are what it folds onto (by encoded key; undefined: deleted).
    let written: Map<string, { value: V | undefined }> | undefined;
    const folds = this.hooks.hasSinks || this.hooks.listening;
    for (const op of iterate(ops, 'write')) {
      if (op === null || typeof op !== 'object') throw invalid('write expects { type, key, value? } operations');
      const key = this.encodableKey(op.key);
      if (op.type === 'put') {
        encoded.push({ kind: KIND_PUT, key, value: this.encodableValue(op.value) });
        if (folds) (written ??= new Map()).set(batchKeyId(key), { value: op.value });
      } else if (op.type === 'del') {
        encoded.push({ kind: KIND_DELETE, key, value: EMPTY });
        if (folds) (written ??= new Map()).set(batchKeyId(key), { value: undefined });
      } else if (op.type === 'merge') {
        if (!folds) { encoded.push(this.operandOp(key, op.value, op.operator)); continue; }
        const before = written?.get(batchKeyId(key));
        const next = this.foldedPut(key, op.value, op.operator, before);
        encoded.push({ kind: KIND_PUT, key, value: this.encodableValue(next) });
        (written ??= new Map()).set(batchKeyId(key), { value: next });
      } else {
        throw invalid(`unknown operation type ${shown((op as { type?: unknown }).type)}`);
      }
    }
    this.applyBatch(encoded);
  }

  /** @internal Checks a put's value exactly as put, putAll and write do (INVALID_ARGUMENT,
   *  VALUE_TOO_LARGE, a ttl's expiry header counted), writing nothing: PartitionedStore
   *  checks a whole batch this way before any partition applies its share. */
  checkPutValue(value: V): void { this.encodableValue(value); }

  /** @internal Checks a merge operand exactly as merge and write do (the operator's name, the
   *  operand's size with the name before it, not on a ttl store), writing nothing. */
  checkMergeOperand(operand: V, name: string | undefined): void { this.operandOp(EMPTY, operand, name); }

  /** A merge operand as the batch image holds it (KIND_MERGE, its operator before its
   *  value), checked: the operator's name, the size, not on a ttl store. */
  private operandOp(key: Encodable, operand: V, name: string | undefined): EncodedOp {
    if (this.ttlMs > 0) throw invalid('merge is not supported on a store with ttlMs');
    const operator = this.merges.prefixFor(name);
    const value = this.encodableValue(operand);
    if (byteBound(value) + operator.length > MAX_VALUE_BYTES && byteLength(value) + operator.length > MAX_VALUE_BYTES) {
      throw new StrataError('VALUE_TOO_LARGE', `merge operand of ${byteLength(value)} bytes exceeds ${MAX_VALUE_BYTES - operator.length}`);
    }
    return { kind: KIND_MERGE, key, value, operator };
  }

  /** A merge on a store whose records must hold values: the key's value (`before` when the
   *  batch wrote it already, else the store's), with the operand folded in. The operator
   *  sees the operand as a read would: decoded from its bytes. */
  private foldedPut(key: Encodable, operand: V, name: string | undefined, before: { value: V | undefined } | undefined): V {
    const op = this.operandOp(key, operand, name); // checks the name, the size and the ttl
    const bytes = typeof op.value === 'string' ? utf8Bytes(op.value) : op.value;
    const found = before === undefined && this.lookup(key, READ_NOW) === Status.OK;
    // The decodes are the fold's too: a codec calling the store from them is refused, as an
    // operator is (a write there would land before this merge's).
    const next = this.merges.guarded(() => {
      const existing = before !== undefined ? before.value : found ? this.resultValue() : undefined;
      return this.merges.apply(name, existing, this.valueCodec.decode(bytes));
    });
    this.checkWritable();
    return next;
  }

  putIfVersion(key: K, value: V, expected: number): boolean {
    this.checkWritable();
    checkVersion(expected);
    const k = this.encodableKey(key);
    const v = this.encodableValue(value);
    return this.putEncodedIfVersion(k, v, expected);
  }

  private putEncodedIfVersion(k: Encodable, v: Encodable, expected: number): boolean {
    if (this.batchWrites) return this.durableIfVersion(k, expected, { kind: KIND_PUT, key: k, value: v });
    this.checkOpen(); // a user codec may have closed the store
    const e = this.engine;
    const p = this.writeArgs(k, v);
    const kl = this.argKeyLen;
    const st = e.putIfVersion(p, kl, p + kl, this.argValueLen, expected);
    if (st === Status.CONDITION_FAILED) return false;
    if (st !== Status.OK) throw statusError(st, 'putIfVersion', this.engine);
    this.background?.afterCall();
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_PUT, key: k, value: v }], e.resultSeq()));
    return true;
  }

  deleteIfVersion(key: K, expected: number): boolean {
    this.checkWritable();
    checkVersion(expected);
    const k = this.encodableKey(key);
    return this.deleteEncodedIfVersion(k, expected);
  }

  private deleteEncodedIfVersion(k: Encodable, expected: number): boolean {
    if (this.batchWrites) return this.durableIfVersion(k, expected, { kind: KIND_DELETE, key: k, value: EMPTY });
    this.checkOpen(); // a user codec may have closed the store
    const e = this.engine;
    const p = this.writeArgs(k, EMPTY);
    const st = e.delIfVersion(p, this.argKeyLen, expected);
    if (st === Status.CONDITION_FAILED) return false;
    if (st !== Status.OK) throw statusError(st, 'deleteIfVersion', this.engine);
    this.background?.afterCall();
    if (this.hooks.listening) this.hooks.notify(this.hooks.recordsOf([{ kind: KIND_DELETE, key: k, value: EMPTY }], e.resultSeq()));
    return true;
  }

  /**
   * Writes `value` only if `key` is absent, and returns the value it found (undefined when it
   * wrote), as Kafka Streams' putIfAbsent: putIfVersion(key, value, 0), which it is, plus the
   * present value. A present key is not written: no record, no version change.
   */
  putIfAbsent(key: K, value: V): V | undefined {
    this.checkWritable();
    const k = this.encodableKey(key);
    const v = this.encodableValue(value);
    if (this.putEncodedIfVersion(k, v, 0)) return undefined;
    // Refused, so present; single-threaded, nothing ran since that version check.
    if (this.lookup(k, READ_NOW) !== Status.OK) return undefined;
    return this.resultValue();
  }

  /**
   * Deletes `key` and returns the value it had; undefined when it was absent, and then
   * nothing is written (no tombstone, no change record, no sequence number). The delete is
   * deleteIfVersion(key, the version read), so it goes through the same write protocol.
   */
  getAndDelete(key: K): V | undefined {
    this.checkWritable();
    const k = this.encodableKey(key);
    if (this.lookup(k, READ_NOW) !== Status.OK) return undefined;
    const e = this.engine;
    const version = e.resultSeq();
    const folded = this.foldedValue();
    if (folded !== undefined) {
      // The operators ran, but cannot call the store: the version still holds.
      this.deleteEncodedIfVersion(k, version);
      return folded.value;
    }
    // Copied out: the delete may move linear memory, and the codec decodes after it (a user
    // codec's decode may call the store).
    const raw = e.copyOut(e.resultValuePtr() + this.valueOffset, e.resultValueLen() - this.valueOffset);
    // INVARIANT: the version still holds (no user code ran since the lookup), so this deletes.
    this.deleteEncodedIfVersion(k, version);
    const fast = this.valueFast;
    return fast !== undefined ? fast.decodeFrom(raw, 0, raw.length) : this.valueCodec.decode(raw);
  }

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

  /** Writes a batch image (docs/ABI.md: kind u8 | keyLen u32 | valLen u32 | key | value). */
  protected applyBatch(ops: EncodedOp[]): void {
    if (ops.length === 0) return;
    // Refused for memory while run files were still being written off this thread: their
    // runs leave memory once durable, so the write waits for them and is encoded again
    // (draining reuses the argument region).
    if (!this.applyBatchOnce(ops, true)) this.applyBatchOnce(ops, false);
  }

  /** applyBatch; false (nothing done) when the engine was short of memory and `drain`
   *  waited for the directory's run files. */
  private applyBatchOnce(ops: EncodedOp[], drain: boolean): boolean {
    // Again here: a codec run since the caller's check may have closed the store, and the
    // expiry sweep comes here directly.
    this.checkWritable();
    const prefix = this.valueOffset; // with a ttl, a put's stored value starts with expiresAt
    let size = 0;
    for (const op of ops) size += 9 + byteBound(op.key) + byteBound(op.value) + prefix + (op.operator?.length ?? 0);
    if (size > FAST_REGION) {
      size = 0;
      for (const op of ops) size += 9 + byteLength(op.key) + byteLength(op.value) + prefix + (op.operator?.length ?? 0);
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
      } else if (op.operator !== undefined) {
        const n = op.operator.length;
        u8.set(op.operator, p + 9 + kl);
        vl = n + writeEncodable(op.value, u8, p + 9 + kl + n, end - p - 9 - kl - n);
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
      if (token === -Status.OUT_OF_MEMORY && drain && disk?.drainFiles()) return false;
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
    this.background?.afterCall();
    this.disk?.afterChange();
    if (records !== undefined && hooks.listening) hooks.notify(records);
    return true;
  }

  /** putIfVersion / deleteIfVersion on a store with a log: the version check, then the
   *  logged write path (single-threaded, so nothing can come between the two). */
  private durableIfVersion(k: Encodable, expected: number, op: EncodedOp): boolean {
    const current = this.lookup(k, READ_NOW, false) === Status.OK ? this.engine.resultSeq() : 0;
    if (current !== expected) return false;
    this.applyBatch([op]);
    return true;
  }
}
