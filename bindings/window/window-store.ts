// WindowStore: Kafka Streams' WindowStore (a value per key and time window, kept for a
// retention period) on a Store of its own (docs/WINDOWS.md). It owns that Store's whole key
// space, laid out in time segments (window-key.ts), so that retention drops every expired
// segment with one range tombstone and cannot reach a key that is not a window.
// INVARIANTS:
// 1. Stream time only grows, and the Store holds it (META_STREAM_TIME) in the same atomic
//    write as the put that advanced it: a reopen or a restore knows it.
// 2. A window is live iff windowStart > streamTime - retentionMs (Kafka Streams: "records
//    expire exactly retentionPeriod ms after created"). Reads show live windows only; a put
//    of an expired window is dropped and counted.
// 3. Every segment below firstLiveSegment holds only expired windows; once the stream time
//    passes one, a range tombstone [segment 0, first live segment) hides them all. It is
//    written after the put that moved the stream time (a crash between the two leaves the
//    expired windows invisible, and open() drops them), so no write that was not
//    acknowledged ever removes a live window.
// Cost: put is one Store write (two keys in one batch when it advances the stream time);
// fetch(key, from, to) one seek per segment in [from, to]; fetchAll and all one scan.
import { Store } from '../store/store.js';
import { codecs, type Codec } from '../codecs.js';
import { StrataError, invalid } from '../errors.js';
import { checkWindowOptions, type WindowConfig, type WindowStoreOptions, type WindowStoreStats } from './window-options.js';
import { ScanChain, type WindowIterator } from './window-iterator.js';
import {
  META_LAYOUT, META_STREAM_TIME, decodeU64, decodeWindowKey, encodeU64, segmentStart, windowKey, windowStartOf,
} from './window-key.js';

/** A window of one key: what fetch(key, timeFrom, timeTo) yields. */
export interface WindowValue<V> { windowStart: number; value: V }
/** A window of any key: what fetchAll and all yield. windowEnd is windowStart + windowMs. */
export interface WindowedEntry<K, V> { key: K; windowStart: number; windowEnd: number; value: V }

/** The layout's version in META_LAYOUT; a store written by another version is refused. */
const LAYOUT_VERSION = 1;
/** At most this many segments are live (retentionMs / segmentMs): a fetch of one key seeks
 *  once per segment in its time range. */
const MAX_LIVE_SEGMENTS = 4096;

export class WindowStore<K = Uint8Array, V = Uint8Array> {
  readonly windowMs: number;
  readonly retentionMs: number;
  readonly segmentMs: number;
  readonly retainDuplicates: boolean;
  private readonly keyCodec: Codec<K>;
  private readonly valueCodec: Codec<V>;
  private time: number;
  /** Segments below this are hidden by a range tombstone already. */
  private droppedBelow = 0;
  /** The next seqnum (retainDuplicates), above every seqnum the store holds: it starts at
   *  the Store's sequence, and every put takes at least one sequence number. Written mod 2^32. */
  private seq: number;
  private expiredDropped = 0;
  private retentionDeletes = 0;
  private closing: Promise<void> | undefined;

  private constructor(private readonly store: Store, cfg: WindowConfig<K, V>, time: number) {
    this.windowMs = cfg.windowMs;
    this.retentionMs = cfg.retentionMs;
    this.segmentMs = cfg.segmentMs;
    this.retainDuplicates = cfg.retainDuplicates;
    this.keyCodec = cfg.keyCodec;
    this.valueCodec = cfg.valueCodec;
    this.time = time;
    this.seq = store.stats().sequence;
  }

  /** Opens (with `path`: recovers) the Store and checks it holds a window store of this
   *  layout, or nothing. */
  static async open<K = Uint8Array, V = Uint8Array>(options: WindowStoreOptions<K, V>): Promise<WindowStore<K, V>> {
    const cfg = checkWindowOptions(options, codecs.bytes as Codec<unknown>);
    if (cfg.retentionMs / cfg.segmentMs > MAX_LIVE_SEGMENTS) {
      throw invalid(`segmentMs ${cfg.segmentMs} makes ${Math.ceil(cfg.retentionMs / cfg.segmentMs)} live segments; at most ${MAX_LIVE_SEGMENTS} (segmentMs >= retentionMs / ${MAX_LIVE_SEGMENTS})`);
    }
    const store = await Store.open(cfg.storeOptions);
    try {
      // Retention is a deleteRange: a store that refuses one (today, one with a changelog
      // sink: docs/API.md) is refused now, not at the first expiry after a put committed.
      // An empty range writes nothing.
      store.deleteRange(META_LAYOUT, META_LAYOUT);
      checkLayout(store, cfg.segmentMs, cfg.retainDuplicates);
      const t = store.get(META_STREAM_TIME);
      const ws = new WindowStore<K, V>(store, cfg, t === undefined ? -1 : decodeU64(t, 'the stream time'));
      ws.dropAtOpen();
      return ws;
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }

  /** The largest window start put (or given to advanceStreamTime), -1 before any. */
  get streamTime(): number { return this.time; }

  /**
   * Puts the value of `key`'s window starting at `windowStart` (ms, a safe integer >= 0);
   * `null` or `undefined` deletes it (with retainDuplicates: ignored, as Kafka Streams does).
   * Advances the stream time to windowStart. A window already expired is dropped.
   */
  put(key: K, windowStart: number, value: V | null | undefined): void {
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'keyCodec');
    checkWindowStart(windowStart, 'windowStart');
    const del = value === undefined || value === null;
    if (del && this.retainDuplicates) return;
    const v = del ? undefined : this.encode(this.valueCodec, value, 'valueCodec');
    const wk = windowKey(this.segmentOf(windowStart), k, windowStart, this.retainDuplicates ? this.seq >>> 0 : undefined);
    if (windowStart <= this.time - this.retentionMs) { this.expiredDropped++; return; }
    if (windowStart <= this.time) {
      if (v === undefined) this.store.delete(wk); else this.store.put(wk, v);
    } else {
      this.store.write([v === undefined ? { type: 'del', key: wk } : { type: 'put', key: wk, value: v },
        { type: 'put', key: META_STREAM_TIME, value: encodeU64(windowStart) }]);
    }
    if (this.retainDuplicates) this.seq++;
    if (windowStart > this.time) {
      this.time = windowStart;
      this.dropExpired();
    }
  }

  /** Moves the stream time forward to `time` (a record's timestamp, a punctuation) without a
   *  put, expiring what it passes; an earlier time changes nothing. */
  advanceStreamTime(time: number): void {
    this.checkOpen();
    checkWindowStart(time, 'time');
    if (time <= this.time) return;
    this.store.put(META_STREAM_TIME, encodeU64(time));
    this.time = time;
    this.dropExpired();
  }

  /** The value of `key`'s window starting at `windowStart` (with retainDuplicates, the last
   *  put), or undefined when absent or expired. */
  fetch(key: K, windowStart: number): V | undefined;
  /** `key`'s live windows starting in [timeFrom, timeTo] (ms, inclusive), in time order. */
  fetch(key: K, timeFrom: number, timeTo: number): WindowIterator<WindowValue<V>>;
  fetch(key: K, time: number, ...timeTo: number[]): V | undefined | WindowIterator<WindowValue<V>> {
    // By the count of arguments: fetch(k, t, undefined) is a bad timeTo, not fetch(k, t).
    if (timeTo.length > 0) return this.fetchRange(key, time, timeTo[0], false);
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'keyCodec');
    checkWindowStart(time, 'windowStart');
    if (!this.live(time) || time > this.time) return undefined;
    const seg = this.segmentOf(time);
    let raw: Uint8Array | undefined;
    if (!this.retainDuplicates) raw = this.store.get(windowKey(seg, k, time));
    else for (const [, v] of this.store.range({ gte: windowKey(seg, k, time), lt: windowKey(seg, k, time + 1), reverse: true, limit: 1 })) raw = v;
    return raw === undefined ? undefined : this.valueCodec.decode(raw);
  }

  /** fetch(key, timeFrom, timeTo), latest window first. */
  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowIterator<WindowValue<V>> {
    return this.fetchRange(key, timeFrom, timeTo, true);
  }

  /** Every live window starting in [timeFrom, timeTo], by segment, then key (byte order of
   *  the encoded key), then time: ordered by time only across segments, as in Kafka Streams. */
  fetchAll(timeFrom: number, timeTo: number): WindowIterator<WindowedEntry<K, V>> {
    return this.scanAll(timeFrom, timeTo, false);
  }

  /** fetchAll in the opposite order. */
  backwardFetchAll(timeFrom: number, timeTo: number): WindowIterator<WindowedEntry<K, V>> {
    return this.scanAll(timeFrom, timeTo, true);
  }

  /** Every live window, in fetchAll's order. */
  all(): WindowIterator<WindowedEntry<K, V>> { return this.scanAll(-Infinity, Infinity, false); }

  /** all() in the opposite order. */
  backwardAll(): WindowIterator<WindowedEntry<K, V>> { return this.scanAll(-Infinity, Infinity, true); }

  stats(): WindowStoreStats {
    this.checkOpen();
    return {
      streamTime: this.time, firstLiveSegment: this.firstLiveSegment(),
      expiredDropped: this.expiredDropped, retentionDeletes: this.retentionDeletes, store: this.store.stats(),
    };
  }

  /** The Store's flush(): with `path`, everything written is durable when it resolves. */
  flush(): Promise<void> {
    this.checkOpen();
    return this.store.flush();
  }

  /** Closes the Store (everything acknowledged made durable). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.store.close();
    return this.closing;
  }

  // ---- internals -----------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closing !== undefined) throw new StrataError('CLOSED', 'the window store is closed');
  }

  private encode<T>(codec: Codec<T>, x: T, name: string): Uint8Array {
    const b = codec.encode(x);
    if (!(b instanceof Uint8Array)) throw invalid(`${name}.encode must return a Uint8Array`);
    return b;
  }

  private segmentOf(t: number): number { return Math.floor(t / this.segmentMs); }
  private live(t: number): boolean { return t > this.time - this.retentionMs; }

  /** The segment of the oldest live window start (streamTime - retentionMs + 1); below it
   *  every window has expired (invariant 3). */
  private firstLiveSegment(): number {
    const minLive = this.time - this.retentionMs + 1;
    return minLive <= 0 ? 0 : this.segmentOf(minLive);
  }

  /** One range tombstone over every segment that has just expired. A failure leaves them
   *  for the next advance or open to drop: the put before it committed, and reads already
   *  skip expired windows, so the put returns. */
  private dropExpired(): void {
    const first = this.firstLiveSegment();
    if (first <= this.droppedBelow) return;
    try {
      this.store.deleteRange(segmentStart(0), segmentStart(first));
    } catch {
      return;
    }
    this.droppedBelow = first;
    this.retentionDeletes++;
  }

  /** At open: drop expired segments a crash (or a failed drop) left behind, if there are any. */
  private dropAtOpen(): void {
    const first = this.firstLiveSegment();
    if (first === 0) return;
    let any = false;
    for (const _ of this.store.range(segmentStart(0), segmentStart(first), { limit: 1 })) any = true;
    if (any) {
      this.store.deleteRange(segmentStart(0), segmentStart(first));
      this.retentionDeletes++;
    }
    this.droppedBelow = first;
  }

  /** The live part of [timeFrom, timeTo]: [lo, hi], empty when lo > hi. */
  private liveSpan(timeFrom: number, timeTo: number): [number, number] {
    checkTime(timeFrom, 'timeFrom');
    checkTime(timeTo, 'timeTo');
    return [Math.max(timeFrom, this.time - this.retentionMs + 1, 0), Math.min(timeTo, this.time)];
  }

  private fetchRange(key: K, timeFrom: number, timeTo: number, reverse: boolean): WindowIterator<WindowValue<V>> {
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'keyCodec');
    const [lo, hi] = this.liveSpan(timeFrom, timeTo);
    const map = (wk: Uint8Array, v: Uint8Array): WindowValue<V> => ({ windowStart: windowStartOf(wk, this.retainDuplicates), value: this.valueCodec.decode(v) });
    if (lo > hi) return new ScanChain(0, () => { throw new Error('unreachable'); }, map);
    const first = this.segmentOf(lo), last = this.segmentOf(hi), count = last - first + 1;
    // Each segment is one range, from `segment | escaped(key) | lo` to `... | hi + 1`.
    const bounds = (i: number) => {
      const seg = reverse ? last - i : first + i;
      return { gte: windowKey(seg, k, lo), lt: windowKey(seg, k, hi + 1), reverse };
    };
    if (count === 1) return new ScanChain(1, () => this.store.range(bounds(0)), map);
    const snap = this.store.snapshot();
    return new ScanChain(count, (i) => snap.range(bounds(i)), map, () => snap.close());
  }

  private scanAll(timeFrom: number, timeTo: number, reverse: boolean): WindowIterator<WindowedEntry<K, V>> {
    this.checkOpen();
    const [lo, hi] = this.liveSpan(timeFrom, timeTo);
    const map = (wk: Uint8Array, v: Uint8Array): WindowedEntry<K, V> | undefined => {
      const d = decodeWindowKey(wk, this.retainDuplicates);
      if (d.windowStart < lo || d.windowStart > hi) return undefined;
      return { key: this.keyCodec.decode(d.key), windowStart: d.windowStart, windowEnd: d.windowStart + this.windowMs, value: this.valueCodec.decode(v) };
    };
    if (lo > hi) return new ScanChain(0, () => { throw new Error('unreachable'); }, map);
    const bounds = { gte: segmentStart(this.segmentOf(lo)), lt: segmentStart(this.segmentOf(hi) + 1), reverse };
    return new ScanChain(1, () => this.store.range(bounds), map);
  }
}

/** Checks a store's layout against these options, or writes it into an empty store. */
function checkLayout(store: Store, segmentMs: number, retainDuplicates: boolean): void {
  const have = store.get(META_LAYOUT);
  if (have === undefined) {
    for (const _ of store.all({ limit: 1 })) throw invalid('the store holds keys but no window store layout: it is not a window store');
    store.put(META_LAYOUT, codecs.json.encode({ version: LAYOUT_VERSION, segmentMs, retainDuplicates }));
    return;
  }
  let layout: { version?: unknown; segmentMs?: unknown; retainDuplicates?: unknown };
  try { layout = codecs.json.decode(have); } catch { throw new StrataError('CORRUPTION', 'window store: its layout record is not JSON'); }
  if (layout.version !== LAYOUT_VERSION) throw invalid(`the window store's layout is version ${String(layout.version)}, this code reads ${LAYOUT_VERSION}`);
  if (layout.segmentMs !== segmentMs || layout.retainDuplicates !== retainDuplicates) {
    throw invalid(`the window store was created with segmentMs ${String(layout.segmentMs)} and retainDuplicates ${String(layout.retainDuplicates)}, `
      + `opened with ${segmentMs} and ${retainDuplicates}: its keys are laid out by them, so they cannot change`);
  }
}

/** A window start: a safe integer >= 0 (ms). */
function checkWindowStart(t: unknown, name: string): void {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw invalid(`${name} must be an integer from 0 to 2^53 - 1 (ms), got ${String(t)}`);
}

/** A time bound of a fetch: a safe integer (below 0 means from the start) or ±Infinity. */
function checkTime(t: unknown, name: string): void {
  if (typeof t !== 'number' || !(Number.isSafeInteger(t) || t === Infinity || t === -Infinity)) {
    throw invalid(`${name} must be an integer (ms) or ±Infinity, got ${String(t)}`);
  }
}
