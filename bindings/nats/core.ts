// What the writer (nats/writer.ts) and the reading side (nats/follower.ts) need of a
// NatsChangelog, as interfaces: they depend on this file, not on nats/changelog.ts, so changelog.ts
// (which builds both) and they form no import cycle. NatsChangelog implements both.
// INVARIANT: every member named here is a member of NatsChangelog with the same meaning (the
// class's doc comments are the reference); tsc checks the shapes through `implements`.
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager, Consumer } from '@nats-io/jetstream';


/** Counters since connect. */
export interface NatsChangelogStats {
  messages: number;
  records: number;
  bytes: number;
  retries: number;
  duplicates: number;
  claims: number;
}

/** What a PartitionWriter publishes through. */
export interface WriterHost {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly retention: 'history' | 'compacted';
  readonly connection: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Messages in flight per partition (1 unless pipelined with history retention). */
  readonly window: number;
  readonly maxMessageBytes: number;
  readonly publishTimeoutMs: number;
  readonly retryForMs: number;
  readonly statsCounters: NatsChangelogStats;
  partitionSubject(p: number): string;
  recordSubject(p: number, key: Uint8Array, rangeEnd?: Uint8Array): string;
  claimSubject(p: number): string;
  lastSeq(partition: number): Promise<number>;
}

/** What partitionMessages and NatsFollower read through. */
export interface ReaderHost {
  readonly stream: string;
  readonly retention: 'history' | 'compacted';
  readonly retryForMs: number;
  lastMessage(partition: number, probe?: boolean): Promise<{ seq: number; streamSeq: number }>;
  messageAtOrAfter(partition: number, from: number): Promise<{ seq: number; data: Uint8Array; header?: MsgHdrs } | null>;
  orderedConsumer(partition: number, startSeq: number): Promise<Consumer>;
  fence(partition: number): Promise<number>;
}

/** What partitionMessages reads a partition's messages through: a changelog, or a task's input
 *  stream (nats/tasks/input.ts). */
export type MessageSource = Pick<ReaderHost, 'orderedConsumer' | 'messageAtOrAfter'>;
