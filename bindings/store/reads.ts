// StoreReads: a Store's reads (store-core.ts explains the layers): get, has, getAll,
// getVersioned, and iterators (range, all) over the store now or over a snapshot. An
// iterator pins the engine's state as of its creation (iterator.ts); a snapshot pins a
// sequence number until it is closed (snapshot.ts).
import { Status, statusError, ITER_LOWER, ITER_UPPER, ITER_REVERSE, READ_NOW } from '../engine/abi.js';
import {
  FAST_REGION, EMPTY, byteBound, byteLength, writeEncodable, checkRangeOptions, checkBounds,
  type Encodable, type RangeOptions, type RangeBounds, type KeyBound,
} from './arguments.js';
import { halfOpen, prefixEnd, type Bound } from '../key-range.js';
import { utf8Bytes, codecs, fastPathOf } from '../codecs.js';
import { invalid } from '../errors.js';
import { EngineIterator, type KeyValueIterator, type IteratorOwner } from './iterator.js';
import { StoreSnapshot, ChainedOwner, type Snapshot } from './snapshot.js';
import { StoreCore } from './store-core.js';
import type { StoreStats } from './stats.js';

/** get_many's mark for a key whose newest version is a merge operand (assembly/abi-reads.ts). */
const MERGED_KEY = 0xfffffffe;

/** The bytes codec's fast path: its values are views of getAll's copy of the value pack. */
const bytesFast = fastPathOf(codecs.bytes);

export abstract class StoreReads<K = Uint8Array, V = Uint8Array> extends StoreCore<K, V> {
  abstract stats(): StoreStats;

  // ---- reads ---------------------------------------------------------------------------

  get(key: K): V | undefined { return this.readGet(key, READ_NOW); }
  has(key: K): boolean { this.checkOpen(); return this.lookup(this.encodableKey(key), READ_NOW, false) === Status.OK; }

  getAll(keys: readonly K[]): (V | undefined)[] { return this.readGetAll(keys, READ_NOW); }

  /** @internal getAll as of snapSeq (READ_NOW: now). */
  readGetAll(keys: readonly K[], snapSeq: number): (V | undefined)[] {
    this.checkOpen();
    if (!Array.isArray(keys)) throw invalid('getAll expects an array of keys');
    // Every index, holes of a sparse array too (read as undefined, refused as a get of
    // undefined is): map() would skip them and leave holes for the packing below.
    const encoded = new Array<Encodable>(keys.length);
    for (let i = 0; i < keys.length; i++) encoded[i] = this.encodableKey(keys[i]);
    this.checkOpen(); // a user codec may have closed the store
    let size = 0;
    for (const k of encoded) size += 4 + byteBound(k);
    if (((size + 7) & ~7) + encoded.length * 8 + 8 > FAST_REGION) {
      size = 0;
      for (const k of encoded) size += 4 + byteLength(k);
    }
    const outOffset = (size + 7) & ~7;
    const n = encoded.length;
    const e = this.engine;
    const base = e.reserve(outOffset + n * 8 + 8);
    const view = e.view;
    const u8 = e.u8;
    let p = base;
    for (const k of encoded) {
      const len = writeEncodable(k, u8, p + 4, base + outOffset - p - 4);
      view.setUint32(p, len, true);
      p += 4 + len;
    }
    const out: (V | undefined)[] = new Array(n);
    const skip = this.valueOffset;
    const fast = this.valueFast;
    // The engine packs the values it finds end to end (get_many). Values copied out anyway
    // (bytes, codecs without a fast path) take one copy of the pack, each a view of it, as an
    // iterator's batch does; the other fast paths decode from linear memory. A user codec's
    // decode may call this store, which reuses the regions: every value is copied out of
    // linear memory before any is decoded.
    const copy = fast === undefined || fast === bytesFast;
    const now = skip !== 0 ? Date.now() : 0;
    const raw: (Uint8Array | undefined)[] | undefined = fast === undefined ? new Array(n) : undefined;
    let chained: number[] | undefined;
    // A call answers the keys from `from` on, perhaps not all (it stops after reading its share
    // of blocks); what it answered is read out before the next call reuses the pack.
    for (let from = 0, keyAt = base; from < n;) {
      const answered = e.getMany(keyAt, n - from, base + outOffset + from * 8, snapSeq);
      if (answered < 0) throw statusError(-answered, 'getAll', this.engine);
      const r = e.u32, dv = e.view; // results and the pack's place are u32-aligned (outOffset is a multiple of 8)
      let w = (base + outOffset + from * 8) >>> 2;
      const packPtr = r[w + answered * 2], packBytes = r[w + answered * 2 + 1];
      const pack = copy && packBytes > 0 ? e.u8.slice(packPtr, packPtr + packBytes) : EMPTY;
      const buffer = pack.buffer;
      const end = from + answered;
      for (let i = from; i < end; i++, w += 2) {
        const vp = r[w], vl = r[w + 1];
        if (vl === MERGED_KEY) { (chained ??= []).push(i); continue; }
        if (vl === 0xffffffff || (skip !== 0 && vl >= 8 && dv.getFloat64(vp, true) <= now)) { out[i] = undefined; continue; } // absent, expired
        if (!copy) { out[i] = fast!.decodeFrom(e.u8, vp + skip, vl - skip); continue; }
        const off = vp - packPtr;
        const b = off >= 0 && off + vl <= packBytes ? new Uint8Array(buffer, off + skip, vl - skip)
          : e.copyOut(vp + skip, vl - skip); // did not fit in the pack
        if (raw !== undefined) raw[i] = b;
        else out[i] = b as V;
      }
      if (end === n) break; // the common case: every key answered in one call
      for (; from < end; from++) keyAt += 4 + dv.getUint32(keyAt, true);
    }
    if (raw !== undefined) {
      for (let i = 0; i < n; i++) if (raw[i] !== undefined) out[i] = this.valueCodec.decode(raw[i]!);
    }
    // Keys whose newest version is a merge operand: each looked up alone, its chain folded.
    if (chained !== undefined) for (const i of chained) out[i] = this.lookup(encoded[i], snapSeq) === Status.OK ? this.resultValue() : undefined;
    return out;
  }

  getVersioned(key: K): { value: V; version: number } | undefined {
    this.checkOpen();
    if (this.lookup(this.encodableKey(key), READ_NOW) !== Status.OK) return undefined;
    const version = this.engine.resultSeq();
    return { value: this.resultValue(), version };
  }

  /**
   * The entries between bounds, in key order (docs/API.md, "Ranges and prefixes"):
   * `range(from, to, options?)` is [from, to); `range({ gt | gte, lt | lte, reverse, limit })`,
   * the form taken when `to` is undefined, has inclusive, exclusive or open ends.
   */
  range(bounds: RangeBounds<K>): KeyValueIterator<K, V>;
  range(from: K, to: K, options?: RangeOptions): KeyValueIterator<K, V>;
  range(from: K | RangeBounds<K>, to?: K, options?: RangeOptions): KeyValueIterator<K, V> {
    return this.openRange(from, to, options, READ_NOW, this);
  }

  /** The entries whose encoded key starts with the encoded `prefix` (docs/API.md, "Ranges
   *  and prefixes"). */
  prefixScan(prefix: K, options?: RangeOptions): KeyValueIterator<K, V> {
    return this.openPrefix(prefix, options, READ_NOW, this);
  }

  all(options?: RangeOptions): KeyValueIterator<K, V> {
    return this.openIterator(undefined, undefined, options, READ_NOW, this);
  }

  /**
   * An estimate of the number of live keys, from the engine's counts (no read): the entries
   * of both memtables and of every run. Never below the live keys (each has at least its
   * newest version counted); above it by every entry not yet compacted away: older versions
   * of a key (in the memtable, or in runs not yet merged), tombstones and the versions they
   * hide, merge operands not yet folded, expired values not yet swept, and versions kept
   * for an open snapshot or iterator. Exact after compact() with no snapshot or iterator
   * open, on a store without ttl whose merge operators are all registered.
   * O(levels).
   */
  approximateNumEntries(): number {
    const s = this.stats();
    let n = s.memtable.entries;
    for (const l of s.levels) n += l.entries;
    return n;
  }

  snapshot(): Snapshot<K, V> {
    this.checkOpen();
    const seq = this.engine.snapshotAcquire();
    const s = new StoreSnapshot<K, V>(this, seq);
    this.snapshots.add(s);
    return s;
  }

  /** @internal */
  readGet(key: K, snapSeq: number): V | undefined {
    this.checkOpen();
    if (this.lookup(this.encodableKey(key), snapSeq) !== Status.OK) return undefined;
    return this.resultValue();
  }

  /** @internal */
  readHas(key: K, snapSeq: number): boolean {
    this.checkOpen();
    return this.lookup(this.encodableKey(key), snapSeq, false) === Status.OK;
  }

  /** @internal range()'s two forms, told apart by `to`: undefined (which no built-in codec
   *  encodes) for range(bounds). Every bound is encoded and checked before anything opens. */
  openRange(from: K | RangeBounds<K>, to: K | undefined, options: RangeOptions | undefined,
            snapSeq: number, owner: IteratorOwner): KeyValueIterator<K, V> {
    owner.checkOpen();
    if (to !== undefined) return this.openIterator(this.encodableKey(from as K), this.encodableKey(to), options, snapSeq, owner);
    if (options !== undefined) throw invalid('range(bounds) takes reverse and limit inside the bounds object');
    const b = checkBounds<K>(from);
    // Every bound encoded and checked first (KEY_TOO_LARGE, INVALID_ARGUMENT), in the form
    // openIterator writes; halfOpen asks for the bytes of those it takes the successor of.
    const encoded = (x: KeyBound<K> | undefined): Bound<Encodable> | undefined => x && { key: this.encodableKey(x.key), inclusive: x.inclusive };
    const r = halfOpen(encoded(b.lower), encoded(b.upper), (k) => (typeof k === 'string' ? utf8Bytes(k) : k))
      ?? { from: EMPTY, to: EMPTY }; // undefined: no key is above the lower bound
    return this.openIterator(r.from, r.to, b.options, snapSeq, owner);
  }

  /** @internal prefixScan: from the prefix's bytes to their successor (none when all 0xff). */
  openPrefix(prefix: K, options: RangeOptions | undefined, snapSeq: number, owner: IteratorOwner): KeyValueIterator<K, V> {
    owner.checkOpen();
    const p = this.encodeKey(prefix);
    return this.openIterator(p, prefixEnd(p), options, snapSeq, owner);
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
      owner === this ? this : new ChainedOwner(owner, this), limit, this.ttlMs > 0 ? Date.now() : 0, pack, this.merges);
    it.slot = this.iterators.push(it) - 1;
    return it;
  }

  /** @internal */
  releaseSnapshot(s: StoreSnapshot<K, V>, seq: number): void {
    if (!this.snapshots.delete(s)) return;
    if (!this.closed) this.engine.snapshotRelease(seq);
  }
}
