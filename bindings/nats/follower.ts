// Reading a partition of the NATS changelog: an ordered JetStream consumer that is re-opened
// after errors and after stalls, and the live follower a Standby uses.
//
// Why a watchdog: when a stream's leader dies, an ordered consumer can stop delivering
// without an error (its server-side state was on the dead node). Whenever the reader knows
// more messages exist (`expectMore`) and none came for STALL_MS, the consumer is stopped and
// re-created after the last stream sequence taken. Messages are taken in stream order, each
// once (a re-opened consumer skips what was taken).
import type { JsMsg } from '@nats-io/jetstream';
import { StrataError } from 'strata-kv';
import type { ChangeRecord, ChangelogFollower } from 'strata-kv';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { MessageSource, ReaderHost } from './core.js';
import { decodeMessage } from './format.js';
import { PartitionReader } from './reader.js';

/** No message for this long while more are known to exist: re-open the consumer. */
const STALL_MS = 1500;
/** Pull batch size, and the pull's expiry (its idle heartbeat is half of it). */
const BATCH = 1024;
const EXPIRES_MS = 2000;
/** A follower stops pulling while this many records wait to be applied. */
const MAX_QUEUED = 262_144;
/** How often a follower asks the server for the partition's last message (lag, stalls). Each
 *  question has a short timeout (NatsChangelog.jsmProbe); one that fails is asked again on the
 *  next tick, so a stream without a leader leaves the end unconfirmed (lag unknown) rather
 *  than one request waiting out a long timeout with a stale end in hand. */
const REFRESH_MS = 200;

/** What a reader needs of a stored message (a JsMsg carries `headers`, a stored one `header`). */
export interface PartitionMessage { seq: number; data: Uint8Array; headers?: MsgHdrs; header?: MsgHdrs }

/**
 * The partition's messages with stream seq above `after()`, in order, until `done()`. Normally
 * through an ordered consumer; when one cannot be created (after a node died, the server may
 * place it on the dead peer and never answer), or it errs or stalls, the messages available
 * are fetched one by one from the stream leader, and a consumer is tried again. The caller's
 * `after()` must advance as it takes messages.
 */
export async function* partitionMessages(cl: MessageSource, partition: number, after: () => number,
                                         expectMore: () => boolean, done: () => boolean,
                                         onOpen?: (stop: () => void) => void): AsyncGenerator<PartitionMessage> {
  let backoff = 25;
  while (!done()) {
    let stop: (() => void) | undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    try {
      const consumer = await cl.orderedConsumer(partition, after() + 1);
      const msgs = await consumer.consume({ max_messages: BATCH, expires: EXPIRES_MS });
      // stop() ends this loop even if the client's iterator does not end after msgs.stop()
      // (seen while a consumer is being reset during a leader change).
      let stopped!: (r: IteratorResult<JsMsg>) => void;
      const stoppedP = new Promise<IteratorResult<JsMsg>>((r) => { stopped = r; });
      stop = () => { msgs.stop(); stopped({ done: true, value: undefined }); };
      onOpen?.(stop);
      if (done()) return;
      let lastAt = Date.now();
      timer = setInterval(() => { if (expectMore() && Date.now() - lastAt > STALL_MS) stop!(); }, 250);
      timer.unref?.();
      const it = msgs[Symbol.asyncIterator]();
      for (;;) {
        const r = await Promise.race([it.next(), stoppedP]);
        if (r.done) break;
        const m = r.value;
        lastAt = Date.now();
        if (m.seq <= after()) continue;
        yield m;
        lastAt = Date.now();
        if (done()) return;
      }
      backoff = 25;
    } catch (err) {
      if (err instanceof StrataError) throw err;
      if (done()) return;
    } finally {
      if (timer) clearInterval(timer);
      stop?.();
    }
    // Degraded path: take what the stream holds now, message by message.
    try {
      for (;;) {
        if (done()) return;
        const m = await cl.messageAtOrAfter(partition, after() + 1);
        if (m === null) break;
        yield m;
      }
    } catch (err) {
      if (err instanceof StrataError) throw err;
      await delay(backoff);
      backoff = Math.min(backoff * 2, 500);
    }
  }
}

/** A standby's view of one partition: one consumer kept open (see partitionMessages). */
export class NatsFollower implements ChangelogFollower {
  private readonly reader: PartitionReader;
  private queue: ChangeRecord[] = [];
  private wake: (() => void) | undefined;
  /** The partition's last record seq and stream seq: the most ever seen (asked, or taken). */
  private knownSeq = 0;
  private knownStreamSeq = 0;
  /** Date.now() when the last answered question about the end was asked (sourceSeqAsOf). */
  private knownAt = -Infinity;
  private refreshing = false;
  private closed = false;
  private stopConsumer: (() => void) | undefined;
  private readonly loop: Promise<void>;
  private readyResolve!: () => void;
  private readyReject!: (e: unknown) => void;
  private readonly readyP = new Promise<void>((res, rej) => { this.readyResolve = res; this.readyReject = rej; });
  private readyAt = -1;
  private readonly timer: ReturnType<typeof setInterval>;
  private failure: unknown;

  constructor(private readonly cl: ReaderHost, private readonly partition: number, fromSeq: number,
              private readonly onClose: () => void) {
    this.reader = new PartitionReader(fromSeq, cl.retention === 'history');
    this.readyP.catch(() => {});
    this.timer = setInterval(() => { void this.refresh(); }, REFRESH_MS);
    this.timer.unref?.();
    this.loop = this.start();
  }

  ready(): Promise<void> { return this.readyP; }

  async next(waitMs: number, signal?: AbortSignal): Promise<ChangeRecord[]> {
    if (this.failure) throw this.failure;
    if (this.queue.length === 0 && waitMs > 0 && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); if (this.wake === done) this.wake = undefined; resolve(); };
        const t = setTimeout(done, waitMs);
        this.wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    const out = this.queue;
    this.queue = [];
    return out;
  }

  sourceSeq(): number { return Math.max(this.knownSeq, this.reader.last); }

  sourceSeqAsOf(): number { return this.knownAt; }

  async seal(): Promise<ChangeRecord[]> {
    const epoch = await this.cl.fence(this.partition);
    this.knownStreamSeq = Math.max(this.knownStreamSeq, epoch);
    const deadline = Date.now() + this.cl.retryForMs;
    while (this.reader.streamSeq < epoch) {
      if (this.failure) throw this.failure;
      if (this.closed) throw new StrataError('CLOSED', 'the follower is closed');
      if (Date.now() > deadline) throw new StrataError('IO_ERROR', `the follower did not reach its fence (stream seq ${epoch}) in ${this.cl.retryForMs} ms`);
      await delay(2);
    }
    const out = this.queue;
    this.queue = [];
    await this.close();
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Closed before it was ready: ready() rejects (a settled promise ignores this), so that a
    // Standby.follow waiting on it gives up and closes its Store instead of going on.
    this.readyReject(new StrataError('CLOSED', `the follower of partition ${this.partition} was closed before it caught up`));
    clearInterval(this.timer);
    this.stopConsumer?.();
    this.wake?.();
    this.onClose();
    await Promise.race([this.loop, delay(2000)]); // a consumer call in flight cannot be cancelled; do not wait on it for long
  }

  /** Asks for the partition's last message (one at a time, short timeout): lag, and the
   *  stall watchdog's "more exists". */
  private async refresh(): Promise<void> {
    if (this.refreshing || this.closed) return;
    this.refreshing = true;
    try {
      const askedAt = Date.now();
      this.learn(await this.cl.lastMessage(this.partition, true), askedAt);
    } catch { /* unanswered (no leader, timeout): the end stays unconfirmed; the next tick asks again */ } finally {
      this.refreshing = false;
    }
  }

  /** An answer to "the partition's last message", asked at `askedAt`. */
  private learn(last: { seq: number; streamSeq: number }, askedAt: number): void {
    this.knownSeq = Math.max(this.knownSeq, last.seq);
    this.knownStreamSeq = Math.max(this.knownStreamSeq, last.streamSeq);
    this.knownAt = Math.max(this.knownAt, askedAt);
  }

  private async start(): Promise<void> {
    try {
      // Ready once the reader has passed the partition's last message as of now.
      for (let backoff = 25; !this.closed; backoff = Math.min(backoff * 2, 500)) {
        try {
          const askedAt = Date.now();
          const last = await this.cl.lastMessage(this.partition, true);
          this.learn(last, askedAt);
          this.readyAt = last.streamSeq;
          break;
        } catch { await delay(backoff); }
      }
      if (this.readyAt <= 0) this.readyResolve();
      const more = () => this.knownStreamSeq > this.reader.streamSeq;
      for await (const m of partitionMessages(this.cl, this.partition, () => this.reader.streamSeq, more, () => this.closed, (stop) => { this.stopConsumer = stop; })) {
        const recs = this.reader.accept(decodeMessage(m.data, this.partition, `${this.cl.stream} seq ${m.seq}`), m.seq);
        if (m.seq > this.knownStreamSeq) this.knownStreamSeq = m.seq;
        if (recs.length > 0) {
          for (const r of recs) this.queue.push(r);
          this.wake?.();
        }
        if (this.readyAt >= 0 && m.seq >= this.readyAt) { this.readyResolve(); this.readyAt = -1; }
        while (this.queue.length > MAX_QUEUED && !this.closed) await delay(1);
      }
    } catch (err) {
      // Only CORRUPTION gets here (partitionMessages retries the rest): stop, and say why.
      this.failure = err;
      this.readyReject(err);
      this.wake?.();
    }
  }
}

function delay(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
