// KeyValueIterator over an engine iterator handle. Entries come from the engine in
// batches of (keyPtr, keyLen, valPtr, valLen); the pointers stay valid while the handle is
// open (the engine pins the memtable and runs), so keys and values are decoded lazily,
// straight from linear memory when the codec has a fast path (codecs.ts); each batch is
// copied into one array kept for the iterator's life. Values that must be copied out anyway
// (bytes, codecs without a fast path) are packed by the engine and copied with one slice per
// batch, each value a view of it; utf8 keys are packed and decoded with one call per batch
// (packFlags). Per entry, only the returned key, value and result objects are made (rawKey's
// copy only when partition merges ask).
// Batches start small and double, so an early `break` costs little; with a limit, the first
// batch asks for all of it.
import { Status, statusError, type Engine, ITER_PACK_VALUES, ITER_PACK_KEYS, TRAILER_ASCII } from '../engine/abi.js';
import { codecs, fastPathOf, type Codec, type CodecFastPath } from '../codecs.js';
import { StrataError } from '../errors.js';
import type { MergeOperators } from './merge-operators.js';

export interface KeyValueIterator<K, V> extends IterableIterator<[K, V]> {
  close(): void;
}

export interface IteratorOwner {
  /** Throws CLOSED when the store (or snapshot) is closed. */
  checkOpen(): void;
  untrack(it: EngineIterator<any, any>): void;
}

const EMPTY = new Uint8Array(0);
const NO_WORDS: Uint32Array = new Uint32Array(0);

/** Word arrays of released iterators (each batchCapacity × 4 words), for the next ones: a
 *  short range then allocates none (an array over 64 bytes is a new off-heap store). */
const wordPool: Uint32Array[] = [];
const WORD_POOL_MAX = 16;

/** Set in a batch entry's valLen when its value is a merge chain image to fold
 *  (assembly/abi-reads.ts). */
const MERGE_CHAIN = 0x80000000;


const ascii = new TextDecoder();

/**
 * The iter_open flags for an iterator over these codecs. Values are packed when every one is
 * copied out anyway (bytes, or a codec without a fast path): one copy of a batch's values
 * costs far less than a copy per value (each a new ArrayBuffer, ~1 µs at 100 bytes). The
 * values then share their batch's ArrayBuffer, as Node's pooled Buffers do. utf8 keys are
 * packed: when a batch's keys are all ASCII, one decode of them all and a substring per key
 * cost a tenth of a TextDecoder call per key. A key kept may then keep its batch's text
 * (V8's sliced strings), as any substring does.
 */
export function packFlags(keyCodec: Codec<unknown>, valueCodec: Codec<unknown>): number {
  return (fastPathOf(valueCodec) === undefined || valueCodec === codecs.bytes ? ITER_PACK_VALUES : 0)
    | (keyCodec === codecs.utf8 && fastPathOf(keyCodec) !== undefined ? ITER_PACK_KEYS : 0);
}

export class EngineIterator<K, V> implements KeyValueIterator<K, V> {
  /** The current batch, entry i at words 4i … 4i + 3. A copy, since the engine's batch
   *  region is shared by every iterator of the engine (they may be read interleaved); one
   *  array for the iterator's life, grown with `want`, so a fill allocates no array. */
  private words: Uint32Array = NO_WORDS;
  private index = 0;
  private count = 0;
  private want = 16;
  private remaining: number;
  /** Entries still to return, when the limit is counted here (stores with a ttl). */
  private userRemaining: number;
  private exhausted = false;
  /** The error a failed block read ended the iterator with. */
  private failure: StrataError | undefined;
  private closedByUser = false;
  private detached = false;
  /** Whether the engine iterator is open (pins held). Its owner keeps it reachable until
   *  then, so a finalizer could never close it: an iterator left open is closed with its
   *  store. */
  private open = true;
  /** @internal Where the owning store keeps it. */
  slot = -1;
  private readonly keyFast: CodecFastPath<K> | undefined;
  private readonly valueFast: CodecFastPath<V> | undefined;
  /** Where the key last returned by next() is stored (pinned until release), and its copy
   *  once `rawKey` has been read (or the pins are about to go). */
  private lastKeyPtr = 0;
  private lastKeyLen = 0;
  private lastKey: Uint8Array | undefined = EMPTY;
  /** A packing iterator's copy of its batch's values (iter_next), and where they were. */
  private pack: Uint8Array = EMPTY;
  private packBuffer: ArrayBufferLike = EMPTY.buffer;
  private packView: DataView | undefined;
  private packPtr = 0;
  /** The batch's packed keys as text when they are all ASCII (ITER_PACK_KEYS); where the
   *  next entry's key starts in it (keys are packed in batch order). */
  private keyText: string | undefined;
  private keyAt = 0;

  constructor(
    private readonly engine: Engine,
    private readonly handle: number,
    private readonly keyCodec: Codec<K>,
    private readonly valueCodec: Codec<V>,
    private readonly owner: IteratorOwner,
    limit: number,
    /** Stores with a ttl: values start with an f64 expiresAt, and entries expired at this
     *  time (the iterator's creation) are skipped. 0 for stores without. */
    private readonly expiryCutoff = 0,
    /** Its iter_open flags' ITER_PACK_* (packFlags). */
    private readonly packing = 0,
    /** Folds the entries whose value is a merge chain (MERGE_CHAIN). */
    private readonly merges?: MergeOperators<V>,
  ) {
    // With expiry the engine cannot count the limit: skipped entries do not count.
    this.remaining = expiryCutoff > 0 ? Infinity : limit;
    this.userRemaining = expiryCutoff > 0 ? limit : Infinity;
    // A limit says how many entries are wanted: one batch of them (a seek + 100 makes one
    // engine call, not 16 + 32 + 52).
    if (limit < Infinity) this.want = Math.max(limit, 1);
    this.keyFast = fastPathOf(keyCodec);
    this.valueFast = fastPathOf(valueCodec);
  }

  /** @internal The stored bytes of the key last returned by next(): merges across
   *  partitions compare these, so a key codec need not round-trip exactly. A copy, made
   *  on first read (plain scans never pay for it). */
  get rawKey(): Uint8Array {
    return this.lastKey ??= this.engine.u8.slice(this.lastKeyPtr, this.lastKeyPtr + this.lastKeyLen);
  }

  [Symbol.iterator](): this { return this; }

  next(): IteratorResult<[K, V]> {
    if (this.closedByUser) throw new StrataError('ITERATOR_CLOSED', 'the iterator was closed');
    if (this.failure) throw this.failure;
    if (this.detached) throw new StrataError('CLOSED', 'the store or snapshot of this iterator is closed');
    const e = this.engine;
    const cutoff = this.expiryCutoff;
    let kp: number, kl: number, vp: number, vl: number, off = -1, ko = 0, chain = false;
    for (;;) {
      if (this.index === this.count) {
        if (this.exhausted || this.userRemaining <= 0) { this.release(); return { done: true, value: undefined }; }
        this.owner.checkOpen();
        this.fill();
        if (this.count === 0) { if (this.exhausted) return { done: true, value: undefined }; continue; } // a call that read its share of blocks
      }
      const w = this.words;
      const j = this.index++ * 4;
      kp = w[j]; kl = w[j + 1]; vp = w[j + 2]; vl = w[j + 3];
      if (vl >= MERGE_CHAIN) { vl -= MERGE_CHAIN; chain = true; }
      if (this.packing !== 0) {
        if ((this.packing & ITER_PACK_VALUES) !== 0) {
          off = vp - this.packPtr;
          if (off < 0 || off + vl > this.pack.length) off = -1; // unpacked: did not fit
        }
        ko = this.keyAt;
        this.keyAt = ko + kl;
      }
      if (cutoff === 0) break;
      if (this.userRemaining <= 0) { this.index = this.count; this.exhausted = true; continue; }
      if (vl >= 8 && (off >= 0 ? this.packView!.getFloat64(off, true) : e.view.getFloat64(vp, true)) <= cutoff) continue; // expired: invisible
      vp += 8; vl -= 8;
      if (off >= 0) off += 8;
      this.userRemaining--;
      break;
    }
    this.lastKeyPtr = kp;
    this.lastKeyLen = kl;
    this.lastKey = undefined;
    const kf = this.keyFast;
    const kt = this.keyText;
    const key = kt !== undefined && ko + kl <= kt.length ? kt.substring(ko, ko + kl) as K
      : kf !== undefined ? kf.decodeFrom(e.u8, kp, kl) : this.keyCodec.decode(e.u8.slice(kp, kp + kl));
    // A user key codec may have closed this iterator or its store: the value's bytes lost
    // their pins, and the close may have reused their memory.
    if (!this.open) throw this.closedByUser ? new StrataError('ITERATOR_CLOSED', 'the iterator was closed') : new StrataError('CLOSED', 'the store or snapshot of this iterator is closed');
    // e.u8 again: a user codec's decode may have grown memory.
    const vf = this.valueFast;
    let value: V;
    if (chain) {
      value = off >= 0 ? this.merges!.fold(this.pack, off, vl) : this.merges!.fold(e.u8, vp, vl);
    } else if (off >= 0) {
      // A view of this batch's copy: it aliases no linear memory.
      const b = new Uint8Array(this.packBuffer, off, vl);
      value = vf !== undefined ? b as V : this.valueCodec.decode(b);
    } else {
      value = vf !== undefined ? vf.decodeFrom(e.u8, vp, vl) : this.valueCodec.decode(e.u8.slice(vp, vp + vl));
    }
    return { done: false, value: [key, value] };
  }

  private fill(): void {
    const e = this.engine;
    const max = Math.min(this.want, this.remaining, e.batchCapacity);
    const n = max > 0 ? e.iterNext(this.handle, max) : 0;
    if (n === -Status.BAD_HANDLE) throw new StrataError('ITERATOR_CLOSED', `engine iterator ${this.handle} is not open`);
    if (n < 0) {
      // A failed block read (CORRUPTION, IO_ERROR): the iterator cannot go on. Its pins go
      // now, and every later next() repeats the error.
      this.failure = statusError(-n, 'iteration', e);
      this.release();
      throw this.failure;
    }
    if (this.words.length < n * 4) {
      const size = e.batchCapacity * 4;
      this.words = wordPool.length > 0 && wordPool[wordPool.length - 1].length === size ? wordPool.pop()! : new Uint32Array(size);
    }
    const from = e.batchPtr >>> 2;
    this.words.set(e.u32.subarray(from, from + n * 4));
    this.index = 0;
    this.count = n;
    this.remaining -= n;
    this.want = Math.min(this.want * 2, e.batchCapacity);
    // A batch may stop short of max before the end: a pack is full, or the call read its
    // share of blocks (READ_CALL_BYTES).
    const ended = max > 0 && e.iterEnded();
    if (this.packing !== 0 && max > 0) {
      const u = e.u32, t = from + e.batchCapacity * 4;
      const flags = u[t], kp = u[t + 1], kb = u[t + 2], vp = u[t + 3], vb = u[t + 4];
      const u8 = e.u8;
      this.packPtr = vp;
      this.pack = vb > 0 ? u8.slice(vp, vp + vb) : EMPTY;
      this.packBuffer = this.pack.buffer;
      if (this.expiryCutoff > 0) this.packView = new DataView(this.pack.buffer);
      this.keyText = kb > 0 && (flags & TRAILER_ASCII) !== 0 ? ascii.decode(u8.subarray(kp, kp + kb)) : undefined;
      this.keyAt = 0;
    }
    if (ended || this.remaining <= 0) {
      // Everything left is in the batch, whose pointers need the pins: release after reading.
      this.exhausted = true;
      if (n === 0) this.release();
    }
  }

  /** Drops the engine's pins; entries already batched must not be read afterwards. */
  private release(): void {
    if (!this.open) return;
    void this.rawKey; // the last key's bytes are about to lose their pin
    this.open = false;
    // No entry is read after this (count is 0, or every entry has been read).
    if (this.words.length > 0 && wordPool.length < WORD_POOL_MAX) wordPool.push(this.words);
    this.words = NO_WORDS;
    this.engine.iterClose(this.handle);
    this.owner.untrack(this);
  }

  return(): IteratorResult<[K, V]> {
    this.close();
    return { done: true, value: undefined };
  }

  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.count = this.index = 0;
    this.exhausted = true;
    this.release();
  }

  /** Called when the owning store closes: the iterator then fails with CLOSED. */
  detach(): void {
    this.detached = true;
    this.count = this.index = 0;
    this.exhausted = true;
    this.release();
  }
}
