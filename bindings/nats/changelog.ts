// NatsChangelog: the changelog on NATS JetStream — a replicated log that a store publishes to
// (ChangelogSink), that restores and standbys read (ChangelogSource), and whose claims fence
// off a dead or paused owner when a standby takes over (docs/SCALING.md).
//
// Layout, one JetStream stream (`stream`, subjects `<prefix>.>`):
//   history retention:   every message of partition p on `<prefix>.<p>`; records batched per
//                        message (nats/format.ts), claims on the same subject
//   compacted retention: one record per message on `<prefix>.<p>.<key token>` with
//                        max_msgs_per_subject = 1, claims on `<prefix>.<p>._claim`; restore
//                        reads one message per live key (tombstones stay as a key's latest);
//                        a range deletion on `<prefix>.<p>.<range token>`, replaced only by
//                        a later deletion of the same range (util.ts rangeToken)
// Every message has a Nats-Msg-Id (`<prefix>.<p>.<epoch>.<first seq>`, claims a random one), so
// a publish retried after a lost ack is stored once (within the stream's duplicate window).
//
// Writers: one per partition per NatsChangelog. Its first append publishes a claim; the
// claim's stream sequence is the writer's epoch, carried by each of its messages. Readers
// (nats/reader.ts) ignore messages of an epoch older than the newest claim they have seen, so
// a promoted standby's claim makes its dead predecessor's late publishes invisible to all.
//
// Modes:
//   acknowledged (default): one message in flight per partition; appends made meanwhile go
//     out together in the next message (group commit). With history retention every publish
//     also carries expect.lastSubjectSequence, so a writer fenced by a newer claim is told so
//     by the server on its next publish (its flush rejects) instead of writing into the void.
//   pipelined: up to `maxInFlight` messages per partition without waiting for acks; a failed
//     publish is retried with its id, and readers restore the order from each message's
//     `prev` link. Not fenced at write time. Compacted retention always sends one at a time
//     (no `prev` chain survives compaction), so there `pipelined` only stops appends waiting.
// flush() resolves once every record appended before it is acknowledged by JetStream (stored
// on a quorum of the stream's replicas), whatever the mode.
//
// Files: this one holds NatsChangelog (the public class: connect, sink, source, subjects);
// nats/index.ts is the package's entry;
// nats/setup.ts its options and the stream's creation; nats/writer.ts the PartitionWriter
// (batching, claims, fenced publishes); nats/follower.ts and nats/reader.ts the reading side;
// nats/format.ts the message format; nats/core.ts the interfaces the writer and the readers
// see NatsChangelog through (so neither imports this file).
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager, Consumer } from '@nats-io/jetstream';
import { connect, jetstream, jetstreamManager, DeliverPolicy } from './client.js';
import { StrataError } from 'strata-kv';
import type { ChangeRecord, ChangelogSink, ChangelogSource, ChangelogFollower } from 'strata-kv';
import { decodeMessage, KIND_CLAIM } from './format.js';
import { PartitionReader } from './reader.js';
import { NatsFollower, partitionMessages } from './follower.js';
import { checkOptions, ensureStream, type NatsChangelogOptions } from './setup.js';
import { withRetry, keyToken, rangeToken, checkPartition, shown } from './util.js';
import type { NatsChangelogStats, ReaderHost, WriterHost } from './core.js';
import { PartitionWriter } from './writer.js';


/** Creating a consumer takes milliseconds on a healthy cluster; see `jsRead`. */
const CONSUMER_CREATE_TIMEOUT_MS = 1500;
/** A follower's "what is the partition's last message" takes a millisecond on a healthy
 *  cluster; see `jsmProbe`. */
const PROBE_TIMEOUT_MS = 500;

export class NatsChangelog implements ChangelogSink, ChangelogSource, WriterHost, ReaderHost {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly retention: 'history' | 'compacted';
  readonly mode: 'acknowledged' | 'pipelined';
  /** The NATS connection (for advanced use: monitoring, stream admin). */
  readonly connection: NatsConnection;
  /** @internal */ readonly js: JetStreamClient;
  /** @internal */ readonly jsm: JetStreamManager;
  /** @internal Consumer creation, with a short timeout: after a node dies, the server may place
   *  an R1 consumer on the dead peer and never answer; another attempt lands elsewhere. */
  readonly jsRead: JetStreamClient;
  /** @internal The followers' end-of-partition probe, with a short timeout: while a stream has
   *  no leader a request waits for its whole timeout, and one 5 s wait left a follower's
   *  idea of the end (its lag) stale for 5 s; a short one is retried on the next tick. */
  readonly jsmProbe: JetStreamManager;
  /** @internal */ readonly window: number;
  /** @internal */ readonly maxMessageBytes: number;
  /** @internal */ readonly publishTimeoutMs: number;
  /** @internal */ readonly retryForMs: number;
  /** @internal The writer's counters; stats() returns a copy. */
  readonly statsCounters: NatsChangelogStats = { messages: 0, records: 0, bytes: 0, retries: 0, duplicates: 0, claims: 0 };
  private readonly writers = new Map<number, PartitionWriter>();
  private readonly followers = new Set<NatsFollower>();
  private readonly ownsConnection: boolean;
  private closed = false;

  private constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, jsmProbe: JetStreamManager,
                      o: NatsChangelogOptions, prefix: string, ownsConnection: boolean) {
    this.connection = nc;
    this.js = js;
    this.jsm = jsm;
    this.jsmProbe = jsmProbe;
    this.jsRead = jetstream(nc, { timeout: CONSUMER_CREATE_TIMEOUT_MS });
    this.stream = o.stream;
    this.subjectPrefix = prefix;
    this.retention = o.retention ?? 'history';
    this.mode = o.mode ?? 'acknowledged';
    this.window = this.mode === 'pipelined' && this.retention === 'history' ? (o.maxInFlight ?? 32) : 1;
    const serverMax = nc.info?.max_payload ?? 1 << 20;
    this.maxMessageBytes = Math.min(o.maxMessageBytes ?? 1 << 20, serverMax - 4096);
    this.publishTimeoutMs = o.publishTimeoutMs ?? 2000;
    this.retryForMs = o.retryForMs ?? 60_000;
    this.ownsConnection = ownsConnection;
  }

  /** Connects, and creates the stream when it does not exist (retrying while a cluster elects its leaders). */
  static async connect(options: NatsChangelogOptions): Promise<NatsChangelog> {
    const o = checkOptions(options);
    const prefix = o.subjectPrefix ?? o.stream;
    const nc = o.connection ?? await connect({
      servers: o.servers,
      name: o.name ?? 'strata-kv',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      timeout: 5000,
    }).catch((err: unknown) => { throw new StrataError('IO_ERROR', `cannot connect to NATS at ${String(o.servers)}: ${(err as Error)?.message}`, { cause: err }); });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5000, checkAPI: false });
      const js = jetstream(nc, { timeout: 5000 }); // API calls (consumer creation is slow during a leader election); publishes pass their own timeout
      const jsmProbe = await jetstreamManager(nc, { timeout: PROBE_TIMEOUT_MS, checkAPI: false });
      await ensureStream(jsm, o, prefix);
      return new NatsChangelog(nc, js, jsm, jsmProbe, o, prefix, o.connection === undefined);
    } catch (err) {
      if (o.connection === undefined) await nc.close().catch(() => {});
      throw err;
    }
  }

  // ---- sink ----------------------------------------------------------------------------

  /**
   * Queues the records for publishing (in order, per partition) and resolves once JetStream
   * has acknowledged them. A Store ignores the promise; flush() is the acknowledgement point.
   * Seqs must increase per partition. Keys and values are copied (history) or referenced
   * until sent (compacted).
   */
  append(records: ChangeRecord[]): Promise<void> {
    this.checkOpen();
    if (!Array.isArray(records)) throw new StrataError('INVALID_ARGUMENT', 'append expects an array of change records');
    if (records.length === 0) return Promise.resolve();
    let start = 0;
    const waits: Promise<void>[] = [];
    // Split by partition (a Store's batch is one partition; a caller may mix).
    for (let i = 1; i <= records.length; i++) {
      if (i === records.length || records[i].partition !== records[start].partition) {
        const slice = start === 0 && i === records.length ? records : records.slice(start, i);
        waits.push(this.writer(slice[0].partition).append(slice));
        start = i;
      }
    }
    const result: Promise<void> = waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {});
    result.catch(() => {}); // failures surface through flush(); an unobserved append must not crash the process
    return result;
  }

  /** Resolves once every record appended so far is acknowledged; rejects if a partition's writer failed or was fenced. */
  async flush(): Promise<void> {
    this.checkOpen();
    await Promise.all([...this.writers.values()].map((w) => w.drained()));
  }

  /** Flushes (errors included), stops followers, and closes the connection when it opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    let failure: unknown;
    try { await this.flush(); } catch (err) { failure = err; }
    this.closed = true;
    await Promise.all([...this.followers].map((f) => f.close()));
    for (const w of this.writers.values()) w.stop(new StrataError('CLOSED', 'the changelog is closed'));
    if (this.ownsConnection) await this.connection.drain().catch(() => this.connection.close());
    if (failure !== undefined) throw failure;
  }

  // ---- source --------------------------------------------------------------------------

  /**
   * The partition's records with seq ≥ fromSeq, in order, ending at the end of the stream as
   * of the read (at least everything acknowledged before the call). One ordered consumer from
   * the start of the partition: the cost follows the partition's messages, whatever fromSeq.
   */
  read(partition: number, fromSeq = 0): AsyncIterable<ChangeRecord> {
    checkPartition(partition);
    if (typeof fromSeq !== 'number' || Number.isNaN(fromSeq)) throw new StrataError('INVALID_ARGUMENT', `fromSeq must be a number, got ${shown(fromSeq)}`);
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.checkOpen();
        const reader = new PartitionReader(fromSeq, self.retention === 'history');
        const end = (await withRetry(() => self.lastMessage(partition), self.retryForMs)).streamSeq;
        if (end === 0) return;
        const more = () => reader.streamSeq < end;
        for await (const m of partitionMessages(self, partition, () => reader.streamSeq, more, () => !more())) {
          const recs = reader.accept(decodeMessage(m.data, partition, `${self.stream} seq ${m.seq}`), m.seq);
          for (const r of recs) yield r;
          if (!more()) return;
        }
      },
    };
  }

  /** Keeps one ordered consumer open on the partition (Standby uses this). */
  follow(partition: number, fromSeq: number): ChangelogFollower {
    checkPartition(partition);
    this.checkOpen();
    const f = new NatsFollower(this, partition, fromSeq, () => this.followers.delete(f));
    this.followers.add(f);
    return f;
  }

  /** The partition's last record seq as the stream holds it now (0 when empty). */
  async lastSeq(partition: number): Promise<number> {
    checkPartition(partition);
    return (await withRetry(() => this.lastMessage(partition), this.retryForMs)).seq;
  }

  /** @internal The partition's first message at or after stream seq `from`, straight from the stream leader, or null. */
  async messageAtOrAfter(partition: number, from: number): Promise<{ seq: number; data: Uint8Array; header?: MsgHdrs } | null> {
    // STREAM.MSG.GET takes next_by_subj (server 2.9+), though the client's type lists it only for direct gets.
    const query = { seq: Math.max(1, from), next_by_subj: this.filterSubject(partition) } as unknown as { seq: number };
    return this.jsm.streams.getMessage(this.stream, query);
  }

  /** @internal The partition's last message: its record seq (a claim: the seq it knew) and stream seq; zeros when empty.
   *  One attempt; `probe`: with jsmProbe's short timeout. */
  async lastMessage(partition: number, probe = false): Promise<{ seq: number; streamSeq: number }> {
    const m = await (probe ? this.jsmProbe : this.jsm).streams.getMessage(this.stream, { last_by_subj: this.filterSubject(partition) });
    if (m === null) return { seq: 0, streamSeq: 0 };
    const msg = decodeMessage(m.data, partition, `${this.stream} seq ${m.seq}`);
    return { seq: msg.kind === KIND_CLAIM ? Math.max(msg.prev ?? 0, msg.last) : msg.last, streamSeq: m.seq };
  }

  /**
   * Claims the partition for this changelog's writer: from the claim on, every reader ignores
   * messages of earlier writers. Waits for this writer's own messages first. Resolves to the
   * claim's stream sequence (the new epoch).
   */
  async fence(partition: number): Promise<number> {
    checkPartition(partition);
    this.checkOpen();
    // A writer that failed (fenced by another owner, or out of retries) stays failed; fencing
    // starts a new epoch, so the partition gets a fresh writer: a process that lost a
    // partition can take it back (StreamTasks' groups do).
    if (this.writers.get(partition)?.failed) this.writers.delete(partition);
    return this.writer(partition).fence();
  }

  /** Partitions that hold at least one message. */
  async partitions(): Promise<number[]> {
    const si = await withRetry(() => this.jsm.streams.info(this.stream, { subjects_filter: `${this.subjectPrefix}.>` }), this.retryForMs);
    const out = new Set<number>();
    const base = this.subjectPrefix.split('.').length;
    for (const subject of Object.keys(si.state.subjects ?? {})) {
      const p = Number(subject.split('.')[base]);
      if (Number.isInteger(p)) out.add(p);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** Publishing counters. */
  stats(): NatsChangelogStats { return { ...this.statsCounters }; }

  // ---- internals -----------------------------------------------------------------------

  /** @internal */
  partitionSubject(p: number): string { return `${this.subjectPrefix}.${p}`; }
  /** @internal Subject a record is published on. */
  recordSubject(p: number, key: Uint8Array, rangeEnd?: Uint8Array): string {
    if (this.retention === 'history') return this.partitionSubject(p);
    return `${this.partitionSubject(p)}.${rangeEnd === undefined ? keyToken(key) : rangeToken(key, rangeEnd)}`;
  }
  /** @internal */
  claimSubject(p: number): string {
    return this.retention === 'history' ? this.partitionSubject(p) : `${this.partitionSubject(p)}._claim`;
  }
  /** @internal What a reader of partition p consumes. */
  filterSubject(p: number): string {
    return this.retention === 'history' ? this.partitionSubject(p) : `${this.partitionSubject(p)}.>`;
  }

  /** @internal An ordered consumer of the partition from stream seq `startSeq` (0 = the start). One attempt. */
  async orderedConsumer(partition: number, startSeq: number): Promise<Consumer> {
    const opts = startSeq > 0
      ? { filter_subjects: this.filterSubject(partition), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }
      : { filter_subjects: this.filterSubject(partition) };
    return this.jsRead.consumers.get(this.stream, opts);
  }

  /** @internal */
  checkOpen(): void {
    if (this.closed) throw new StrataError('CLOSED', 'the changelog is closed');
  }

  private writer(p: number): PartitionWriter {
    checkPartition(p);
    let w = this.writers.get(p);
    if (w === undefined) this.writers.set(p, (w = new PartitionWriter(this, p)));
    return w;
  }
}
