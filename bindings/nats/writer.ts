// The publishing side of the NATS changelog: one PartitionWriter per partition, which batches
// records into messages (nats/format.ts), claims the partition before its first message (the
// claim's stream sequence is its epoch), and publishes with retries under one message id and,
// with history retention and one message in flight, the fence (expect.lastSubjectSequence).
// The modes and the layout are described in nats/changelog.ts's header.
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { randomBytes } from 'node:crypto';
import { StrataError } from 'strata-kv';
import type { ChangeRecord } from 'strata-kv';
import { RecordMessageBuilder, encodeClaim, before, HEADER_BYTES } from './format.js';
import { crc32c } from '../crc32c.js';
import type { WriterHost } from './core.js';
import { delay, shown } from './util.js';

const FENCE_CODE = 10071; // JetStream "wrong last sequence"

/** A sealed message waiting for, or in, flight. */
interface Outgoing {
  subject: string;
  payload: Uint8Array;
  msgId: string;
  lastSeq: number;
  records: number;
  acked: boolean;
  streamSeq: number;
}

/**
 * Publishes one partition's records in seq order.
 * INVARIANTS: (1) `inflight` is in send order, at most `cl.window` long; (2) `ackedThrough` is
 * the last seq of the longest acknowledged prefix of what was sent; (3) messages are sealed
 * only once the writer has an epoch (its claim is acknowledged); (4) after `failure` is set
 * nothing more is sent and every waiter is rejected with it.
 */
export class PartitionWriter {
  private epoch = 0;
  private claiming: Promise<number> | undefined;
  private lastAppended = 0;
  /** seq of the last record sealed into a message (the next message's prev). */
  private lastSealed = -1;
  /** seq before the first record appended since the writer last had no epoch (a claim's prev). */
  private claimPrev = -1;
  private readonly builder = new RecordMessageBuilder();
  /** compacted: records appended, not yet sealed (each becomes its own message). */
  private queued: ChangeRecord[] = [];
  private readonly inflight: Outgoing[] = [];
  private ackedThrough = 0;
  /** Stream seq of this writer's last acknowledged message on the partition subject (history). */
  private lastSubjectSeq = 0;
  private waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: StrataError | undefined;
  private pumpQueued = false;

  constructor(private readonly cl: WriterHost, private readonly partition: number) {}

  append(records: ChangeRecord[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    // Validate the whole batch before queuing any of it.
    let last = this.lastAppended;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (r === null || typeof r !== 'object' || !(r.key instanceof Uint8Array) || (r.value !== null && !(r.value instanceof Uint8Array))) {
        throw new StrataError('INVALID_ARGUMENT', `change record ${i} must have a Uint8Array key and a Uint8Array or null value`);
      }
      const end = r.rangeEnd;
      if (end !== undefined && (!(end instanceof Uint8Array) || r.value !== null || !before(r.key, end))) {
        throw new StrataError('INVALID_ARGUMENT', `change record ${i}: a range deletion needs a Uint8Array rangeEnd above its key, with value null`);
      }
      if (!Number.isSafeInteger(r.seq) || r.seq <= last) {
        throw new StrataError('INVALID_ARGUMENT', `change record ${i}: seq ${shown(r.seq)} is not above seq ${last} already appended to partition ${this.partition}`);
      }
      if (HEADER_BYTES + RecordMessageBuilder.sizeOf(r) + 512 > this.cl.maxMessageBytes) {
        throw new StrataError('VALUE_TOO_LARGE', `change record ${i} (${RecordMessageBuilder.sizeOf(r)} bytes) does not fit a NATS message of ${this.cl.maxMessageBytes} bytes`);
      }
      last = r.seq;
    }
    if (this.lastSealed < 0) this.lastSealed = records[0].seq - 1;
    if (this.epoch === 0 && this.claimPrev < 0) this.claimPrev = this.lastSealed;
    if (this.cl.retention === 'compacted') {
      for (const r of records) this.queued.push(r);
    } else {
      // An append that fits one message is never cut: a message is stored whole or not at
      // all, so a reader never sees part of such an append (StreamTasks' commits rely on it).
      let appendBytes = 0;
      for (const r of records) appendBytes += RecordMessageBuilder.sizeOf(r);
      if (this.builder.count > 0 && this.builder.bytes + appendBytes > this.cl.maxMessageBytes - 512) this.sealHistory();
      for (const r of records) {
        if (this.builder.count > 0 && this.builder.bytes + RecordMessageBuilder.sizeOf(r) > this.cl.maxMessageBytes - 512) this.sealHistory();
        this.builder.add(r);
      }
    }
    this.lastAppended = last;
    this.schedulePump();
    return this.waitFor(last);
  }

  /** Resolves once everything appended is acknowledged. */
  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.waitFor(this.lastAppended);
  }

  async fence(): Promise<number> {
    await this.drained();
    this.epoch = 0;
    this.claiming = undefined;
    return this.claim(undefined);
  }

  stop(err: StrataError): void { this.fail(err); }

  /** Whether the writer failed: it sends nothing more, and every wait rejects. */
  get failed(): boolean { return this.failure !== undefined; }

  private waitFor(seq: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (seq <= this.ackedThrough) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    // A microtask: a synchronous burst of writes is sealed into as few messages as it fills.
    queueMicrotask(() => { this.pumpQueued = false; this.pump(); });
  }

  /** Sends what the window allows. */
  private pump(): void {
    if (this.failure) return;
    if (this.epoch === 0) {
      if (!this.claiming) this.claim(this.claimPrev).then(() => this.pump(), (err) => this.fail(err));
      return;
    }
    while (this.inflight.length < this.cl.window) {
      const out = this.seal();
      if (out === undefined) return;
      this.inflight.push(out);
      this.publish(out).then((ack) => {
        out.acked = true;
        out.streamSeq = ack.seq;
        this.advance();
        this.pump();
      }, (err) => this.fail(err));
    }
  }

  /** The next message to send, or undefined when nothing is waiting. */
  private seal(): Outgoing | undefined {
    if (this.cl.retention === 'compacted') {
      const r = this.queued.shift();
      if (r === undefined) return undefined;
      this.builder.add(r);
      const prev = this.lastSealed;
      const out = this.outgoing(this.cl.recordSubject(this.partition, r.key, r.rangeEnd), prev, r.seq, 1);
      return out;
    }
    if (this.pendingHistory.length === 0 && this.builder.count > 0) this.sealHistory();
    return this.pendingHistory.shift();
  }

  /** history: sealed messages not yet sent (a burst larger than one message). */
  private readonly pendingHistory: Outgoing[] = [];

  private sealHistory(): void {
    // Before the claim is acknowledged (epoch 0) a burst larger than a message is cut here too;
    // claim() stamps the epoch into those messages before any is sent.
    this.pendingHistory.push(this.outgoing(this.cl.partitionSubject(this.partition), this.lastSealed, this.builder.lastSeq, this.builder.count));
  }

  private outgoing(subject: string, prev: number, lastSeq: number, records: number): Outgoing {
    const first = this.builder.firstSeq;
    const payload = this.builder.take(this.epoch, prev);
    this.lastSealed = lastSeq;
    const out: Outgoing = {
      subject, payload, lastSeq, records, acked: false, streamSeq: 0,
      msgId: `${this.cl.subjectPrefix}.${this.partition}.${this.epoch}.${first}`,
    };
    return out;
  }

  private advance(): void {
    while (this.inflight.length > 0 && this.inflight[0].acked) {
      const done = this.inflight.shift()!;
      this.ackedThrough = done.lastSeq;
      if (this.cl.retention === 'history') this.lastSubjectSeq = Math.max(this.lastSubjectSeq, done.streamSeq);
    }
    let i = 0;
    while (i < this.waiters.length && this.waiters[i].seq <= this.ackedThrough) this.waiters[i++].resolve();
    if (i > 0) this.waiters = this.waiters.slice(i);
  }

  /** Publishes a claim; its stream sequence becomes this writer's epoch. */
  private claim(prev: number | undefined): Promise<number> {
    const cl = this.cl;
    const run = async () => {
      const hint = prev ?? await cl.lastSeq(this.partition).catch(() => 0);
      const ack = await this.publishRaw(cl.claimSubject(this.partition), encodeClaim(prev !== undefined && prev >= 0 ? prev : undefined, hint),
        `${cl.subjectPrefix}.${this.partition}.claim.${randomBytes(9).toString('base64url')}`, false);
      cl.statsCounters.claims++;
      this.epoch = ack.seq;
      if (cl.retention === 'history') this.lastSubjectSeq = ack.seq;
      // Messages cut before the claim was acknowledged get the epoch now (nothing was sent).
      for (const out of this.pendingHistory) restamp(out, this.epoch, `${cl.subjectPrefix}.${this.partition}.${this.epoch}`);
      return ack.seq;
    };
    const p = run();
    this.claiming = p;
    return p;
  }

  private async publish(out: Outgoing): Promise<PubAck> {
    const ack = await this.publishRaw(out.subject, out.payload, out.msgId, this.cl.retention === 'history' && this.cl.window === 1);
    const s = this.cl.statsCounters;
    s.messages++;
    s.records += out.records;
    s.bytes += out.payload.length;
    return ack;
  }

  /**
   * One publish, retried with the same message id until acknowledged or `retryForMs` passes.
   * With `fenced`, the publish expects the partition subject's last message to be this
   * writer's previous one: "wrong last sequence" then means another writer claimed the
   * partition, unless our own earlier attempt is that last message.
   */
  private async publishRaw(subject: string, payload: Uint8Array, msgId: string, fenced: boolean): Promise<PubAck> {
    const cl = this.cl;
    const deadline = Date.now() + cl.retryForMs;
    let backoff = 25;
    for (let attempt = 0; ; attempt++) {
      if (this.failure) throw this.failure;
      try {
        const opts: Parameters<JetStreamClient['publish']>[2] = { msgID: msgId, timeout: cl.publishTimeoutMs };
        if (fenced) opts.expect = { lastSubjectSequence: this.lastSubjectSeq };
        const ack = await cl.js.publish(subject, payload, opts);
        if (ack.duplicate) cl.statsCounters.duplicates++;
        return ack;
      } catch (err) {
        if (cl.connection.isClosed()) throw new StrataError('CLOSED', 'the NATS connection is closed', { cause: err });
        if (fenced && (err as { code?: number })?.code === FENCE_CODE) {
          const mine = await this.lastIsMine(subject, msgId);
          if (mine !== undefined) return mine;
          throw new StrataError('IO_ERROR', `fenced: partition ${this.partition} of stream ${cl.stream} was claimed by another writer ` +
            `(${(err as Error).message}); this writer's later records are not in the changelog`, { cause: err });
        }
        if (Date.now() + backoff > deadline) {
          throw new StrataError('IO_ERROR', `NATS publish to ${subject} failed for ${cl.retryForMs} ms (${attempt + 1} attempts): ${(err as Error)?.message}`, { cause: err });
        }
        cl.statsCounters.retries++;
        await delay(backoff);
        backoff = Math.min(backoff * 2, 500);
      }
    }
  }

  /** The subject's last message, when it is the one with our id (a retry whose first attempt was stored). */
  private async lastIsMine(subject: string, msgId: string): Promise<PubAck | undefined> {
    const m = await this.cl.jsm.streams.getMessage(this.cl.stream, { last_by_subj: subject }).catch(() => null);
    if (m && m.header?.get('Nats-Msg-Id') === msgId) return { stream: this.cl.stream, seq: m.seq, duplicate: true };
    return undefined;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof StrataError ? err : new StrataError('IO_ERROR', `NATS changelog: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(this.failure);
  }
}

/** Sets the epoch (header bytes 10..18), message id and crc of a message sealed before its writer's claim. */
function restamp(out: Outgoing, epoch: number, idBase: string): void {
  const v = new DataView(out.payload.buffer, out.payload.byteOffset, out.payload.byteLength);
  v.setUint32(10, epoch >>> 0, true);
  v.setUint32(14, Math.floor(epoch / 2 ** 32), true);
  v.setUint32(4, crc32cOf(out.payload), true);
  out.msgId = `${idBase}.${out.msgId.slice(out.msgId.lastIndexOf('.') + 1)}`;
}

function crc32cOf(payload: Uint8Array): number { return crc32c(payload, 8); }
