// WindowStore: Kafka Streams' WindowStore (a value per key and time window, kept for a
// retention period) on a Store of its own (docs/WINDOWS.md). Stream time and retention are
// SegmentedStore's (segmented-store.ts: its invariants); this file lays out the windows:
//   `segment(windowStart) | escaped(key) | windowStart [| seqnum]` (window-key.ts).
// Cost: put is one Store write (two keys in one batch when it advances the stream time);
// fetch(key, windowStart) one get; fetch(key, from, to) one seek per segment in [from, to];
// fetchAll and all one scan.
import type { Store } from '../store/store.js';
import { codecs, type Codec } from '../codecs.js';
import { checkSegmentedOptions, type SegmentedConfig, type WindowStoreOptions } from './window-options.js';
import type { WindowIterator } from './window-iterator.js';
import { SegmentedStore, checkTimestamp } from './segmented-store.js';
import { WINDOW_TAIL, WINDOW_TAIL_SEQ, decodeKey, segmentStart, timeAt, windowKey, windowStartOf } from './window-key.js';

/** A window of one key: what fetch(key, timeFrom, timeTo) yields. */
export interface WindowValue<V> { windowStart: number; value: V }
/** A window of any key: what fetchAll and all yield. windowEnd is windowStart + windowMs. */
export interface WindowedEntry<K, V> { key: K; windowStart: number; windowEnd: number; value: V }

export class WindowStore<K = Uint8Array, V = Uint8Array> extends SegmentedStore<K, V> {
  readonly windowMs: number;
  readonly retainDuplicates: boolean;
  /** The bytes after the escaped key: windowStart, and the seqnum with duplicates. */
  private readonly tail: number;
  /** The next seqnum (retainDuplicates), above every seqnum the store holds: it starts at
   *  the Store's sequence, and every put takes at least one sequence number. Written mod 2^32. */
  private seq: number;

  private constructor(store: Store, cfg: SegmentedConfig<K, V>, time: number) {
    super(store, cfg, time);
    this.windowMs = cfg.windowMs;
    this.retainDuplicates = cfg.retainDuplicates;
    this.tail = cfg.retainDuplicates ? WINDOW_TAIL_SEQ : WINDOW_TAIL;
    this.seq = store.stats().sequence;
  }

  /** Opens (with `path`: recovers) the Store and checks it holds a window store of this
   *  layout, or nothing. */
  static async open<K = Uint8Array, V = Uint8Array>(options: WindowStoreOptions<K, V>): Promise<WindowStore<K, V>> {
    const cfg = checkSegmentedOptions(options, codecs.bytes as Codec<unknown>);
    return SegmentedStore.openSegmented(cfg.storeOptions, { kind: 'window', segmentMs: cfg.segmentMs, retainDuplicates: cfg.retainDuplicates },
      (store, time) => new WindowStore<K, V>(store, cfg, time));
  }

  /**
   * Puts the value of `key`'s window starting at `windowStart` (ms, a safe integer >= 0);
   * `null` or `undefined` deletes it (with retainDuplicates: ignored, as Kafka Streams does).
   * Advances the stream time to windowStart. A window already expired is dropped.
   */
  put(key: K, windowStart: number, value: V | null | undefined): void {
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'key');
    checkTimestamp(windowStart, 'windowStart');
    const del = value === undefined || value === null;
    if (del && this.retainDuplicates) return;
    const v = del ? undefined : this.encode(this.valueCodec, value, 'value');
    const wk = windowKey(this.segmentOf(windowStart), k, windowStart, this.retainDuplicates ? this.seq >>> 0 : undefined);
    if (!this.live(windowStart)) { this.expiredDropped++; return; }
    this.writeAt(v === undefined ? { type: 'del', key: wk } : { type: 'put', key: wk, value: v }, windowStart);
    if (this.retainDuplicates) this.seq++;
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
    const k = this.encode(this.keyCodec, key, 'key');
    checkTimestamp(time, 'windowStart');
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

  private fetchRange(key: K, timeFrom: number, timeTo: number, reverse: boolean): WindowIterator<WindowValue<V>> {
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'key');
    const [lo, hi] = this.liveSpan(timeFrom, timeTo);
    const first = this.segmentOf(lo), last = this.segmentOf(hi);
    // Each segment is one range, from `segment | escaped(key) | lo` to `... | hi + 1`.
    return this.chain(lo > hi ? 0 : last - first + 1, (i) => {
      const seg = reverse ? last - i : first + i;
      return { gte: windowKey(seg, k, lo), lt: windowKey(seg, k, hi + 1), reverse };
    }, (wk, v) => ({ windowStart: windowStartOf(wk, this.tail), value: this.valueCodec.decode(v) }));
  }

  private scanAll(timeFrom: number, timeTo: number, reverse: boolean): WindowIterator<WindowedEntry<K, V>> {
    this.checkOpen();
    const [lo, hi] = this.liveSpan(timeFrom, timeTo);
    return this.chain(lo > hi ? 0 : 1, () => ({ gte: segmentStart(this.segmentOf(lo)), lt: segmentStart(this.segmentOf(hi) + 1), reverse }), (wk, v) => {
      const d = decodeKey(wk, this.tail);
      const windowStart = timeAt(wk, d.at);
      if (windowStart < lo || windowStart > hi) return undefined;
      return { key: this.keyCodec.decode(d.key), windowStart, windowEnd: windowStart + this.windowMs, value: this.valueCodec.decode(v) };
    });
  }
}
