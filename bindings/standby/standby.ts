// Standby: a read-only replica of one partition that follows the partition's changelog, and
// takes over as the writable Store when the owner dies (Kafka Streams' standby replica,
// Samza's host-affinity restore made continuous).
//
// Invariants:
//   (1) The replica's Store only ever grows by `restore()` of records read from the source, in
//       the source's order; restore skips seqs at or below the store's sequence, so a record
//       delivered twice (a retried read, an overlapping poll) is applied once.
//   (2) Nothing writes to the Store before promote(): `store` exposes reads only. Reads see
//       each restored chunk whole or not at all (a restore chunk is one engine call).
//   (3) promote() stops following, fences the source when it can (ChangelogFollower.seal:
//       for NATS a claim that makes every reader ignore later messages of the old owner), applies
//       everything the source holds up to the fence, and only then hands the Store out. Its
//       next write gets sequence `applied + 1`, above every applied record: versions continue.
//   (4) lag() never under-reports: it is counted from the highest seq the source was ever seen
//       to hold, and when that was last confirmed lagStaleMs or more ago (the source does not
//       answer: a stream without a leader) the end is unknown and lag() is Infinity, not
//       a stale difference that reads as "caught up". So lag() = 0 implies every record the
//       source held lagStaleMs ago is applied.
// Cost: one restore() per batch the source delivers; lag() is O(1) (plus the source's own
// lastSeq when it is synchronous).
import { Store, type Snapshot, type RangeOptions, type RangeBounds } from '../store/store.js';
import type { KeyValueIterator } from '../store/iterator.js';
import { sinksOf, type ChangeRecord, type ChangelogSink, type ChangelogSource } from '../changelog/contract.js';
import type { StoreOptions } from '../store/options.js';
import { StrataError, invalid, shown } from '../errors.js';

/**
 * A live reader of one partition, for sources that can do better than repeated reads
 * (NatsChangelog.follow keeps one JetStream consumer open). Standby works with any
 * ChangelogSource: without `follow` it polls `read(partition, applied + 1)`.
 */
export interface ChangelogFollower {
  /** Records after those already returned, in order; waits up to `waitMs` for the first
   *  (less when `signal` aborts), and returns [] when none came. */
  next(waitMs: number, signal?: AbortSignal): Promise<ChangeRecord[]>;
  /** Resolves once everything the source held when following began has been returned by next(). */
  ready(): Promise<void>;
  /** The highest seq the source is known to hold for the partition (for lag): the most ever
   *  seen, never less than the last seq returned by next(). */
  sourceSeq(): number;
  /** When the source's end was last confirmed: the Date.now() at which a question was asked
   *  that the source answered with at most sourceSeq() (so every record it held then is at or
   *  below sourceSeq()). Without it the follower is taken as always current (a synchronous
   *  source). */
  sourceSeqAsOf?(): number;
  /** Fences earlier writers when the source can, and returns every record not yet returned
   *  that the source holds up to the fence. The follower is closed afterwards. */
  seal(): Promise<ChangeRecord[]>;
  close(): Promise<void>;
}

/** What Standby uses of a source beyond `read`, each optional. */
export interface FollowableSource extends ChangelogSource {
  follow?(partition: number, fromSeq: number): ChangelogFollower;
  /** The partition's last seq (MemoryChangelog and FileChangelog answer at once; NatsChangelog asks the server). */
  lastSeq?(partition: number): number | Promise<number>;
  /** Makes later appends of the partition's previous writers invisible to readers (NatsChangelog). */
  fence?(partition: number): Promise<unknown>;
}

export type StandbyOptions<K, V> = StoreOptions<K, V> & {
  source: ChangelogSource;
  partition: number;
  /** How often a source without `follow` is polled, in ms. Default 50. */
  pollMs?: number;
  /** How long the source's last seq, as last confirmed, counts as known, ms: past it lag()
   *  is Infinity (docs/API.md, "Standby lag"). Default max(1000, 3 × pollMs). */
  lagStaleMs?: number;
};

/** lag() and what it is made of (Standby.lagStatus). */
export interface StandbyLagStatus {
  /** Whether the source's end was confirmed within lagStaleMs. */
  known: boolean;
  /** Records behind the highest seq the source is known to hold: a lower bound when !known. */
  behind: number;
  /** The highest seq the source is known to hold. */
  sourceSeq: number;
  /** The last applied seq. */
  appliedSeq: number;
  /** ms since the source's end was last confirmed (0: a source that answers synchronously). */
  ageMs: number;
}

export class Standby<K = Uint8Array, V = Uint8Array> {
  /**
   * Reads of the replica as it is now: unlike Store.snapshot() this view is live, each call
   * sees every record applied so far (an iterator, as always, sees the store as of its
   * creation). `close()` closes the Standby. After promote() it reads the promoted Store.
   */
  readonly store: Snapshot<K, V>;
  private readonly inner: Store<K, V>;
  private readonly follower: ChangelogFollower;
  private readonly sink: DeferredSinks;
  private applied: number;
  private running: Promise<void> | undefined;
  private readonly pollMs: number;
  private readonly lagStaleMs: number;
  private stopping = false;
  private abort = new AbortController();
  private state: 'following' | 'promoting' | 'promoted' | 'closed' = 'following';
  /** The last error the follow loop met (it keeps retrying); cleared by the next success. */
  lastError: unknown = undefined;

  /** The promoted store's expiry sweep interval (StoreOptions.expirySweepMs). */
  private expirySweepMs = 1000;

  private constructor(inner: Store<K, V>, follower: ChangelogFollower, sink: DeferredSinks, pollMs: number, lagStaleMs: number) {
    this.inner = inner;
    this.follower = follower;
    this.sink = sink;
    this.applied = inner.stats().sequence;
    this.store = new LiveView(inner, () => this.close());
    this.pollMs = pollMs;
    this.lagStaleMs = lagStaleMs;
  }

  /**
   * Opens the replica's Store with the given store options (a `path` makes it durable, and a
   * reopened replica resumes after its last applied record), catches up with everything the
   * source holds now, and keeps following. The `changelog` sinks receive nothing until
   * promote(): the promoted Store's writes go to them.
   */
  static async follow<K = Uint8Array, V = Uint8Array>(options: StandbyOptions<K, V>): Promise<Standby<K, V>> {
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    const { source, partition, pollMs = 50, lagStaleMs, changelog, ...storeOptions } = options;
    if (source === null || typeof source !== 'object' || typeof (source as ChangelogSource).read !== 'function') {
      throw invalid('source must be a changelog source (an object with read(partition, fromSeq))');
    }
    if (!Number.isInteger(partition) || partition < 0) throw invalid(`partition must be a non-negative integer, got ${shown(partition)}`);
    if (!Number.isFinite(pollMs) || pollMs < 1) throw invalid(`pollMs must be a number ≥ 1, got ${shown(pollMs)}`);
    if (lagStaleMs !== undefined && (typeof lagStaleMs !== 'number' || !(lagStaleMs >= 1))) {
      throw invalid(`lagStaleMs must be a number ≥ 1, got ${shown(lagStaleMs)}`);
    }
    const sinks = sinksOf(changelog);
    const deferred = new DeferredSinks(sinks);
    // A replica never writes: expiry sweeps (which delete) start when it is promoted.
    const inner = await Store.open<K, V>({ ...storeOptions, partition, changelog: deferred, expirySweepMs: 0 });
    const src = source as FollowableSource;
    const from = inner.stats().sequence + 1;
    const follower = typeof src.follow === 'function' ? src.follow(partition, from) : new PollingFollower(src, partition, from, pollMs);
    const standby = new Standby<K, V>(inner, follower, deferred, pollMs, lagStaleMs ?? Math.max(1000, 3 * pollMs));
    standby.expirySweepMs = storeOptions.expirySweepMs ?? 1000;
    try {
      await follower.ready();
      await standby.settle();
      standby.running = standby.loop();
    } catch (err) {
      await standby.close().catch(() => {});
      throw err;
    }
    return standby;
  }

  /**
   * Records the replica is behind the source: the highest seq the source is known to hold −
   * the last applied seq. Infinity when the source's end is unknown (not confirmed within
   * lagStaleMs: the source does not answer), never a stale 0. lagStatus() has the parts.
   */
  lag(): number {
    const s = this.lagStatus();
    return s.known ? s.behind : Infinity;
  }

  /** lag() and what it is made of: the lower bound `behind` stays useful while the end is unknown. */
  lagStatus(): StandbyLagStatus {
    const { seq, asOf } = this.sourceEnd();
    const ageMs = Math.max(0, Date.now() - asOf);
    // Strictly within: an answer asked lagStaleMs ago to the millisecond may predate a write of that millisecond.
    return { known: ageMs < this.lagStaleMs, behind: Math.max(0, seq - this.applied), sourceSeq: seq, appliedSeq: this.applied, ageMs };
  }

  /** The seq of the last applied record (the replica Store's sequence). */
  appliedSeq(): number { return this.applied; }

  /**
   * Resolves once every record the source held when it was called is applied: the source's
   * end, confirmed after the call, is at or below the applied seq. Rejects after `timeoutMs`
   * (IO_ERROR, saying whether the end was unknown), or with CLOSED once the standby stops
   * following.
   */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const since = Date.now();
    const deadline = since + timeoutMs;
    for (;;) {
      const { seq, asOf } = this.sourceEnd();
      // Strictly after: a question asked in the call's own millisecond may predate it.
      if (asOf > since && seq <= this.applied) return;
      if (this.state !== 'following') throw new StrataError('CLOSED', `the standby is ${this.state}`);
      if (Date.now() > deadline) {
        const why = asOf > since ? `still ${seq - this.applied} records behind` : `the source's last seq is unknown (last confirmed ${Date.now() - asOf} ms ago)`;
        throw new StrataError('IO_ERROR', `standby not caught up after ${timeoutMs} ms: ${why}`, { cause: this.lastError });
      }
      await sleep(5);
    }
  }

  /** The source's best-known end and when it was confirmed (now, for a follower that cannot say). */
  private sourceEnd(): { seq: number; asOf: number } {
    const f = this.follower;
    const seq = f.sourceSeq();
    return { seq, asOf: typeof f.sourceSeqAsOf === 'function' ? f.sourceSeqAsOf() : Date.now() };
  }

  /**
   * Stops following, fences the source (when it can), applies every record the source holds
   * up to the fence, and returns the Store, now writable, with the given `changelog` sinks
   * attached: its next write's version is above every applied one.
   */
  async promote(): Promise<Store<K, V>> {
    if (this.state === 'promoted') return this.inner;
    if (this.state !== 'following') throw new StrataError('CLOSED', `cannot promote a standby that is ${this.state}`);
    this.state = 'promoting';
    await this.stop();
    try {
      const rest = await this.follower.seal();
      if (rest.length > 0) await this.apply(rest);
    } catch (err) {
      this.state = 'following';
      this.stopping = false;
      this.abort = new AbortController();
      this.running = this.loop();
      throw err;
    }
    this.sink.attach();
    this.inner.startExpirySweeps(this.expirySweepMs);
    this.state = 'promoted';
    return this.inner;
  }

  /** Stops following and closes the replica's Store (not the source, not the sinks). After
   *  promote() it only stops using the Store, which belongs to the caller. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasPromoted = this.state === 'promoted';
    this.state = 'closed';
    await this.stop();
    await this.follower.close().catch(() => {});
    if (!wasPromoted) await this.inner.close();
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.running;
    this.running = undefined;
  }

  /** Waits until the loop has applied what the follower delivered so far. */
  private async settle(): Promise<void> {
    for (;;) {
      const recs = await this.follower.next(0);
      if (recs.length === 0) return;
      await this.apply(recs);
    }
  }

  private async apply(records: ChangeRecord[]): Promise<void> {
    await this.inner.restore(records);
    this.applied = this.inner.stats().sequence;
  }

  /** The follow loop; the only caller of follower.next() once follow() has resolved, so
   *  batches are applied in the order the follower returns them. */
  private async loop(): Promise<void> {
    let backoff = 10;
    while (!this.stopping) {
      try {
        const recs = await this.follower.next(Math.max(this.pollMs, 100), this.abort.signal);
        if (this.stopping) {
          // Records already taken from the follower must not be lost: apply them now.
          if (recs.length > 0) await this.apply(recs);
          return;
        }
        if (recs.length > 0) await this.apply(recs);
        this.lastError = undefined;
        backoff = 10;
      } catch (err) {
        if (this.stopping) return;
        this.lastError = err;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }
}

/**
 * The sinks of a standby's Store: silent until the standby is promoted (restore() never calls
 * sinks, and nothing else writes before), then forwards everything; closing the Standby
 * before promotion leaves the user's sinks open.
 */
class DeferredSinks implements ChangelogSink {
  private live = false;
  constructor(private readonly sinks: ChangelogSink[]) {}
  attach(): void { this.live = true; }
  append(records: ChangeRecord[]): void | Promise<void> {
    if (!this.live) return;
    if (this.sinks.length === 1) return this.sinks[0].append(records);
    let failure: unknown;
    const pending: Promise<void>[] = [];
    for (const s of this.sinks) {
      try {
        const r = s.append(records);
        if (r && typeof (r as Promise<void>).then === 'function') pending.push(r as Promise<void>);
      } catch (err) { failure ??= err; }
    }
    if (failure !== undefined) throw failure;
    if (pending.length > 0) return Promise.all(pending).then(() => {});
  }
  async flush(): Promise<void> {
    if (this.live) for (const s of this.sinks) await s.flush?.();
  }
  async close(): Promise<void> {
    if (!this.live) return;
    for (const s of this.sinks) {
      await s.flush?.();
      await s.close?.();
    }
  }
}

/** The Standby's `store`: live reads of the replica Store. */
class LiveView<K, V> implements Snapshot<K, V> {
  constructor(private readonly s: Store<K, V>, private readonly onClose: () => Promise<void>) {}
  get(key: K): V | undefined { return this.s.get(key); }
  has(key: K): boolean { return this.s.has(key); }
  getAll(keys: readonly K[]): (V | undefined)[] { return this.s.getAll(keys); }
  range(bounds: RangeBounds<K>): KeyValueIterator<K, V>;
  range(from: K, to: K, o?: RangeOptions): KeyValueIterator<K, V>;
  // Forwarded as given: Store.range tells its two forms apart by `to`.
  range(from: K | RangeBounds<K>, to?: K, o?: RangeOptions): KeyValueIterator<K, V> { return this.s.range(from as K, to as K, o); }
  prefixScan(prefix: K, o?: RangeOptions): KeyValueIterator<K, V> { return this.s.prefixScan(prefix, o); }
  all(o?: RangeOptions): KeyValueIterator<K, V> { return this.s.all(o); }
  close(): void { void this.onClose(); }
}

/** An async lastSeq() unanswered this long is asked again. */
const ASK_AGAIN_MS = 500;

/** Follows any ChangelogSource by reading `read(partition, last + 1)` every `pollMs`. */
class PollingFollower implements ChangelogFollower {
  private last: number;
  private known = 0;
  /** When `known` was last confirmed (sourceSeqAsOf); -Infinity: never. */
  private knownAt = -Infinity;
  /** When the lastSeq() promise in flight was asked (-1: none): one question at a time, but
   *  one unanswered for ASK_AGAIN_MS is given up on (its late answer still counts). */
  private askingSince = -1;
  private closed = false;
  private readonly first: Promise<void>;
  private buffered: ChangeRecord[] = [];

  constructor(private readonly source: FollowableSource, private readonly partition: number, fromSeq: number,
              private readonly pollMs: number) {
    this.last = fromSeq - 1;
    this.first = this.pull().then(() => {});
  }

  ready(): Promise<void> { return this.first; }

  async next(waitMs: number, signal?: AbortSignal): Promise<ChangeRecord[]> {
    await this.first;
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.buffered.length > 0) {
        const out = this.buffered;
        this.buffered = [];
        return out;
      }
      if (this.closed) return [];
      await this.pull();
      if (this.buffered.length > 0) continue;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return [];
      await sleep(Math.min(this.pollMs, left), signal);
    }
  }

  sourceSeq(): number {
    const f = this.source.lastSeq;
    const askedAt = Date.now();
    if (typeof f === 'function' && (this.askingSince < 0 || askedAt - this.askingSince > ASK_AGAIN_MS)) {
      try {
        const r = f.call(this.source, this.partition);
        if (typeof r === 'number') this.confirm(r, askedAt);
        else if (r && typeof (r as Promise<number>).then === 'function') {
          this.askingSince = askedAt;
          (r as Promise<number>).then((n) => { this.confirm(n, askedAt); }, () => {})
            .finally(() => { if (this.askingSince === askedAt) this.askingSince = -1; });
        }
      } catch { /* unanswered: the end stays as last confirmed */ }
    }
    return Math.max(this.known, this.last);
  }

  sourceSeqAsOf(): number { return this.knownAt; }

  private confirm(seq: number, askedAt: number): void {
    if (typeof seq !== 'number' || Number.isNaN(seq)) return;
    this.known = Math.max(this.known, seq);
    this.knownAt = Math.max(this.knownAt, askedAt);
  }

  async seal(): Promise<ChangeRecord[]> {
    if (typeof this.source.fence === 'function') await this.source.fence(this.partition);
    await this.pull();
    const out = this.buffered;
    this.buffered = [];
    this.closed = true;
    return out;
  }

  async close(): Promise<void> { this.closed = true; }

  /** Reads everything after `last` into `buffered` (at most 64 Ki records a pull). A pull
   *  that reached the end confirms it: the source held nothing above `last` when it began. */
  private async pull(): Promise<void> {
    const startedAt = Date.now();
    const src = this.source.read(this.partition, this.last + 1);
    let complete = true;
    const take = (r: ChangeRecord): boolean => {
      if (r.seq > this.last) {
        this.buffered.push(r);
        this.last = r.seq;
      }
      return this.buffered.length < 65536;
    };
    if (typeof (src as AsyncIterable<ChangeRecord>)[Symbol.asyncIterator] === 'function') {
      for await (const r of src as AsyncIterable<ChangeRecord>) if (!take(r)) { complete = false; break; }
    } else {
      for (const r of src as Iterable<ChangeRecord>) if (!take(r)) { complete = false; break; }
    }
    if (complete) this.confirm(this.last, startedAt);
    else this.known = Math.max(this.known, this.last);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}
