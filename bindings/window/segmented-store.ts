// SegmentedStore: what WindowStore and SessionStore share (docs/WINDOWS.md). Each owns a
// Store of its own, laid out in time segments (window-key.ts), so that retention drops every
// expired segment with one range tombstone and cannot reach a key that is not theirs. This
// class keeps the stream time and retention; the subclasses lay out their keys.
// INVARIANTS:
// 1. Stream time only grows, and the Store holds it (META_STREAM_TIME) in the same atomic
//    write as the put that advanced it: a reopen or a restore knows it.
// 2. An entry (window or session) is live iff its time (window start, session end) >
//    streamTime - retentionMs (Kafka Streams: "records expire exactly retentionPeriod ms
//    after created"). Reads show live entries only; a put of an expired one is dropped and
//    counted.
// 3. Every segment below firstLiveSegment holds only expired entries; once the stream time
//    passes one, a range tombstone [segment 0, first live segment) hides them all. It is
//    written after the put that moved the stream time (a crash between the two leaves the
//    expired entries invisible, and open drops them), so no write that was not
//    acknowledged ever removes a live entry.
import { Store } from '../store/store.js';
import { codecs, type Codec } from '../codecs.js';
import { StrataError, invalid, shown } from '../errors.js';
import type { WriteOp } from '../store/write-protocol.js';
import { encodeWith } from '../store/arguments.js';
import type { RangeBounds } from '../store/arguments.js';
import type { SegmentedConfig, WindowStoreStats } from './window-options.js';
import { ScanChain, type WindowIterator } from './window-iterator.js';
import { META_LAYOUT, META_STREAM_TIME, decodeU64, encodeU64, segmentStart } from './window-key.js';

/** The layout's version in META_LAYOUT; a store written by another version is refused. */
const LAYOUT_VERSION = 1;

/** What a store's META_LAYOUT records: fixed for its life. */
export interface Layout { kind: 'window' | 'session'; segmentMs: number; retainDuplicates: boolean }

export abstract class SegmentedStore<K, V> {
  readonly retentionMs: number;
  readonly segmentMs: number;
  protected readonly keyCodec: Codec<K>;
  protected readonly valueCodec: Codec<V>;
  protected time: number;
  /** Segments below this are hidden by a range tombstone already. */
  private droppedBelow = 0;
  protected expiredDropped = 0;
  private retentionDeletes = 0;
  private closing: Promise<void> | undefined;

  protected constructor(protected readonly store: Store, cfg: SegmentedConfig<K, V>, time: number) {
    this.retentionMs = cfg.retentionMs;
    this.segmentMs = cfg.segmentMs;
    this.keyCodec = cfg.keyCodec;
    this.valueCodec = cfg.valueCodec;
    this.time = time;
  }

  /** Opens the Store, checks it holds a store of `layout` (or nothing), and makes the
   *  subclass's instance over it, which then drops what a crash left expired. */
  protected static async openSegmented<T extends SegmentedStore<unknown, unknown>>(
    storeOptions: SegmentedConfig<unknown, unknown>['storeOptions'], layout: Layout, make: (store: Store, time: number) => T): Promise<T> {
    const store = await Store.open(storeOptions);
    try {
      checkLayout(store, layout);
      const t = store.get(META_STREAM_TIME);
      const s = make(store, t === undefined ? -1 : decodeU64(t, 'the stream time'));
      s.dropAtOpen();
      return s;
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }

  /** The largest time put (a window's start, a session's end) or given to
   *  advanceStreamTime, -1 before any. */
  get streamTime(): number { return this.time; }

  /** Moves the stream time forward to `time` (a record's timestamp, a punctuation) without a
   *  put, expiring what it passes; an earlier time changes nothing. */
  advanceStreamTime(time: number): void {
    this.checkOpen();
    checkTimestamp(time, 'time');
    if (time <= this.time) return;
    this.store.put(META_STREAM_TIME, encodeU64(time));
    this.time = time;
    this.dropExpired();
  }

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
    const refused = this.closing === undefined ? this.store.closeRefusal() : undefined;
    if (refused !== undefined) return Promise.reject(refused); // a sink's append calling it: a later close() closes
    this.closing ??= this.store.close();
    return this.closing;
  }

  // ---- for the subclasses --------------------------------------------------------------

  protected checkOpen(): void {
    if (this.closing !== undefined) throw new StrataError('CLOSED', 'the store is closed');
  }

  /** `x` encoded as the Store encodes (store/arguments.ts): a codec that throws, whatever it
   *  throws, is INVALID_ARGUMENT, as is one that returns no Uint8Array. */
  protected encode<T>(codec: Codec<T>, x: T, name: 'key' | 'value'): Uint8Array {
    return encodeWith(codec, x, name);
  }

  protected segmentOf(t: number): number { return Math.floor(t / this.segmentMs); }
  protected live(t: number): boolean { return t > this.time - this.retentionMs; }

  /**
   * Writes `op`, an entry whose time is `t` (already checked live), with the stream time
   * when `t` advances it (one atomic batch), then drops the segments that expired.
   */
  protected writeAt(op: WriteOp<Uint8Array, Uint8Array>, t: number): void {
    if (t <= this.time) {
      if (op.type === 'del') this.store.delete(op.key); else this.store.put(op.key, op.value);
      return;
    }
    this.store.write([op, { type: 'put', key: META_STREAM_TIME, value: encodeU64(t) }]);
    this.time = t;
    this.dropExpired();
  }

  /** The live part of [timeFrom, timeTo] (bounds checked): [lo, hi], empty when lo > hi. */
  protected liveSpan(timeFrom: number, timeTo: number): [number, number] {
    checkTime(timeFrom, 'timeFrom');
    checkTime(timeTo, 'timeTo');
    return [Math.max(timeFrom, this.time - this.retentionMs + 1, 0), Math.min(timeTo, this.time)];
  }

  /** `count` ranges read as one iterator as of now: one range at once, several on a
   *  snapshot (window-iterator.ts). */
  protected chain<T>(count: number, bounds: (i: number) => RangeBounds<Uint8Array>,
                     map: (key: Uint8Array, value: Uint8Array) => T | undefined): WindowIterator<T> {
    if (count <= 0) return new ScanChain(0, () => { throw new Error('no scan'); }, map);
    if (count === 1) return new ScanChain(1, () => this.store.range(bounds(0)), map);
    const snap = this.store.snapshot();
    return new ScanChain(count, (i) => snap.range(bounds(i)), map, () => snap.close());
  }

  // ---- retention -----------------------------------------------------------------------

  /** The segment of the oldest live time (streamTime - retentionMs + 1); below it every
   *  entry has expired (invariant 3). */
  private firstLiveSegment(): number {
    const minLive = this.time - this.retentionMs + 1;
    return minLive <= 0 ? 0 : this.segmentOf(minLive);
  }

  /** One range tombstone over every segment that has just expired. A failure leaves them
   *  for the next advance or open to drop: the put before it committed, and reads already
   *  skip expired entries, so the put returns. */
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
}

/** Checks a store's layout, or writes it into an empty store. */
function checkLayout(store: Store, want: Layout): void {
  const have = store.get(META_LAYOUT);
  if (have === undefined) {
    for (const _ of store.all({ limit: 1 })) throw invalid(`the store holds keys but no ${want.kind} store layout: it is not a ${want.kind} store`);
    store.put(META_LAYOUT, codecs.json.encode({ version: LAYOUT_VERSION, ...want }));
    return;
  }
  let layout: { version?: unknown; kind?: unknown; segmentMs?: unknown; retainDuplicates?: unknown };
  try { layout = codecs.json.decode(have); } catch { throw new StrataError('CORRUPTION', 'window store: its layout record is not JSON'); }
  if (layout.version !== LAYOUT_VERSION) throw invalid(`the store's layout is version ${shown(layout.version)}, this code reads ${LAYOUT_VERSION}`);
  if (layout.kind !== want.kind) throw invalid(`the store is a ${shown(layout.kind)} store, not a ${want.kind} store`);
  if (layout.segmentMs !== want.segmentMs || layout.retainDuplicates !== want.retainDuplicates) {
    throw invalid(`the ${want.kind} store was created with segmentMs ${shown(layout.segmentMs)} and retainDuplicates ${shown(layout.retainDuplicates)}, `
      + `opened with ${want.segmentMs} and ${want.retainDuplicates}: its keys are laid out by them, so they cannot change`);
  }
}

/** A window start or session time: a safe integer >= 0 (ms). */
export function checkTimestamp(t: unknown, name: string): void {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw invalid(`${name} must be an integer from 0 to 2^53 - 1 (ms), got ${shown(t)}`);
}

/** A time bound of a fetch: a safe integer (below 0 means from the start) or ±Infinity. */
function checkTime(t: unknown, name: string): void {
  if (typeof t !== 'number' || !(Number.isSafeInteger(t) || t === Infinity || t === -Infinity)) {
    throw invalid(`${name} must be an integer (ms) or ±Infinity, got ${shown(t)}`);
  }
}
