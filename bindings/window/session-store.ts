// SessionStore: Kafka Streams' SessionStore (a value per key and session, a session being
// [start, end] of activity, kept for a retention period after its end) on a Store of its
// own (docs/WINDOWS.md, "Sessions"). Stream time and retention are SegmentedStore's
// (segmented-store.ts: its invariants, with a session's time its end); this file lays out
// the sessions:
//   `segment(end) | escaped(key) | end | start` (window-key.ts),
// so one key's sessions that end in a span are one range per segment, in end order, as
// Kafka Streams' SessionKeySchema keeps them.
// Cost: put is one Store write (two keys in one batch when it advances the stream time);
// fetchSession one get; findSessions one seek per segment from earliestSessionEndTime to
// the stream time; all one scan.
import type { Store } from '../store/store.js';
import { codecs, type Codec } from '../codecs.js';
import { invalid } from '../errors.js';
import { checkSegmentedOptions, type SegmentedConfig, type SessionStoreOptions } from './window-options.js';
import type { WindowIterator } from './window-iterator.js';
import { SegmentedStore, checkTimestamp } from './segmented-store.js';
import { SESSION_TAIL, decodeKey, segmentStart, sessionKey, timeAt } from './window-key.js';

/** A session: what findSessions and all yield. */
export interface SessionEntry<K, V> { key: K; start: number; end: number; value: V }

export class SessionStore<K = Uint8Array, V = Uint8Array> extends SegmentedStore<K, V> {
  private constructor(store: Store, cfg: SegmentedConfig<K, V>, time: number) {
    super(store, cfg, time);
  }

  /** Opens (with `path`: recovers) the Store and checks it holds a session store of this
   *  layout, or nothing. */
  static async open<K = Uint8Array, V = Uint8Array>(options: SessionStoreOptions<K, V>): Promise<SessionStore<K, V>> {
    const cfg = checkSegmentedOptions(options, codecs.bytes as Codec<unknown>, true);
    return SegmentedStore.openSegmented(cfg.storeOptions, { kind: 'session', segmentMs: cfg.segmentMs, retainDuplicates: false },
      (store, time) => new SessionStore<K, V>(store, cfg, time));
  }

  /**
   * Puts the value of `key`'s session [start, end] (ms, safe integers, 0 <= start <= end);
   * `null` or `undefined` removes it. Advances the stream time to `end`. A session that has
   * already expired (end <= streamTime - retentionMs) is dropped.
   */
  put(key: K, start: number, end: number, value: V | null | undefined): void {
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'key');
    checkSession(start, end);
    const v = value === undefined || value === null ? undefined : this.encode(this.valueCodec, value, 'value');
    const sk = sessionKey(this.segmentOf(end), k, end, start);
    if (!this.live(end)) { this.expiredDropped++; return; }
    this.writeAt(v === undefined ? { type: 'del', key: sk } : { type: 'put', key: sk, value: v }, end);
  }

  /** put(key, start, end, null). */
  remove(key: K, start: number, end: number): void { this.put(key, start, end, null); }

  /** The value of `key`'s session [start, end], or undefined when absent or expired. */
  fetchSession(key: K, start: number, end: number): V | undefined {
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'key');
    checkSession(start, end);
    if (!this.live(end) || end > this.time) return undefined;
    const raw = this.store.get(sessionKey(this.segmentOf(end), k, end, start));
    return raw === undefined ? undefined : this.valueCodec.decode(raw);
  }

  /**
   * `key`'s live sessions that end at or after `earliestSessionEndTime` and start at or
   * before `latestSessionStartTime` (the sessions a record at those times would merge with),
   * by end, then start.
   */
  findSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number): WindowIterator<SessionEntry<K, V>> {
    return this.find(key, earliestSessionEndTime, latestSessionStartTime, false);
  }

  /** findSessions, latest end first. */
  backwardFindSessions(key: K, earliestSessionEndTime: number, latestSessionStartTime: number): WindowIterator<SessionEntry<K, V>> {
    return this.find(key, earliestSessionEndTime, latestSessionStartTime, true);
  }

  /** Every live session of `key`, by end, then start. */
  fetch(key: K): WindowIterator<SessionEntry<K, V>> { return this.find(key, -Infinity, Infinity, false); }

  /** fetch(key), latest end first. */
  backwardFetch(key: K): WindowIterator<SessionEntry<K, V>> { return this.find(key, -Infinity, Infinity, true); }

  /** Every live session, by segment (of its end), then key (encoded bytes), then end, then start. */
  all(): WindowIterator<SessionEntry<K, V>> { return this.scanAll(false); }

  /** all() in the opposite order. */
  backwardAll(): WindowIterator<SessionEntry<K, V>> { return this.scanAll(true); }

  private find(key: K, earliestEnd: number, latestStart: number, reverse: boolean): WindowIterator<SessionEntry<K, V>> {
    this.checkOpen();
    const k = this.encode(this.keyCodec, key, 'key');
    const [lo, hi] = this.liveSpan(earliestEnd, Infinity);
    const [, maxStart] = this.liveSpan(-Infinity, latestStart); // latestStart, checked (capped at the stream time)
    const first = this.segmentOf(lo), last = this.segmentOf(hi);
    // Each segment is one range, `segment | escaped(key) | end` for ends in [lo, hi]; the
    // starts are filtered.
    return this.chain(lo > hi ? 0 : last - first + 1, (i) => {
      const seg = reverse ? last - i : first + i;
      return { gte: sessionKey(seg, k, lo), lt: sessionKey(seg, k, hi + 1), reverse };
    }, (sk, v) => {
      const start = timeAt(sk, sk.length - 8);
      if (start > maxStart) return undefined;
      return { key, start, end: timeAt(sk, sk.length - SESSION_TAIL), value: this.valueCodec.decode(v) };
    });
  }

  private scanAll(reverse: boolean): WindowIterator<SessionEntry<K, V>> {
    this.checkOpen();
    const [lo, hi] = this.liveSpan(-Infinity, Infinity);
    return this.chain(lo > hi ? 0 : 1, () => ({ gte: segmentStart(this.segmentOf(lo)), lt: segmentStart(this.segmentOf(hi) + 1), reverse }), (sk, v) => {
      const d = decodeKey(sk, SESSION_TAIL);
      const end = timeAt(sk, d.at);
      if (end < lo) return undefined; // expired, in the first live segment
      return { key: this.keyCodec.decode(d.key), start: timeAt(sk, d.at + 8), end, value: this.valueCodec.decode(v) };
    });
  }
}

function checkSession(start: number, end: number): void {
  checkTimestamp(start, 'start');
  checkTimestamp(end, 'end');
  if (start > end) throw invalid(`a session's start (${start}) must not come after its end (${end})`);
}
