// A partitioned input on JetStream: one stream, partition p on subject `<prefix>.<p>`, each
// message's key in the `Strata-Key` header (base64url), its partition chosen by Kafka's
// default partitioner (murmur2 of the key), as StreamProducer publishes them. A message's
// position is its stream sequence: unique in the stream, increasing within a partition.
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { Consumer, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { jetstream, DeliverPolicy } from '../client.js';
import { StrataError } from 'strata-kv';
import { shown } from '../util.js';
import type { MessageSource } from '../core.js';
import type { PartitionMessage } from '../follower.js';

export const KEY_HEADER = 'Strata-Key';

/** Where a job's input lives. */
export interface InputOptions {
  /** JetStream stream name; created when missing (StreamProducer) or required to exist (StreamTasks). */
  stream: string;
  /** Partition p is subject `<subjectPrefix>.<p>`. Default: the stream name. */
  subjectPrefix?: string;
  /** How many partitions the input has (Kafka's partition count). */
  partitions: number;
}

/** One input message as `process` sees it. */
export interface InputMessage {
  /** The key the producer partitioned by (undefined when the message has none). */
  key: Uint8Array | undefined;
  value: Uint8Array;
  /** NATS headers other than the key's. */
  headers: Record<string, string>;
  partition: number;
  /** The message's stream sequence: where the task resumes after it. */
  position: number;
}

export function checkInput(input: InputOptions | undefined): Required<InputOptions> {
  const bad = (m: string) => new StrataError('INVALID_ARGUMENT', m);
  if (input === null || typeof input !== 'object') throw bad('input must be { stream, subjectPrefix?, partitions }');
  if (typeof input.stream !== 'string' || !/^[A-Za-z0-9_-]+$/.test(input.stream)) throw bad(`input.stream must be a stream name (letters, digits, _ and -), got ${shown(input.stream)}`);
  const prefix = input.subjectPrefix ?? input.stream;
  if (typeof prefix !== 'string' || prefix === '' || /[\s*>]/.test(prefix)) throw bad(`input.subjectPrefix must be a subject without wildcards, got ${shown(input.subjectPrefix)}`);
  if (!Number.isInteger(input.partitions) || input.partitions < 1 || input.partitions > 65_536) throw bad(`input.partitions must be an integer from 1 to 65536, got ${shown(input.partitions)}`);
  return { stream: input.stream, subjectPrefix: prefix, partitions: input.partitions };
}

/** The input stream read through partitionMessages (nats/follower.ts), like a changelog partition. */
export class InputSource implements MessageSource {
  private readonly js: JetStreamClient;

  constructor(nc: NatsConnection, private readonly jsm: JetStreamManager, readonly input: Required<InputOptions>) {
    this.js = jetstream(nc, { timeout: 1500 });
  }

  subject(p: number): string { return `${this.input.subjectPrefix}.${p}`; }

  orderedConsumer(partition: number, startSeq: number): Promise<Consumer> {
    return this.js.consumers.get(this.input.stream, {
      filter_subjects: this.subject(partition), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, startSeq),
    });
  }

  /** The stream sequence of partition p's last message (0 when it has none). */
  async lastPosition(partition: number): Promise<number> {
    const m = await this.jsm.streams.getMessage(this.input.stream, { last_by_subj: this.subject(partition) });
    return m?.seq ?? 0;
  }

  async messageAtOrAfter(partition: number, from: number): Promise<{ seq: number; data: Uint8Array; header?: MsgHdrs } | null> {
    const query = { seq: Math.max(1, from), next_by_subj: this.subject(partition) } as unknown as { seq: number };
    return this.jsm.streams.getMessage(this.input.stream, query);
  }
}

export function toInputMessage(m: PartitionMessage, partition: number): InputMessage {
  const hdrs = m.headers ?? m.header;
  const headers: Record<string, string> = {};
  let key: Uint8Array | undefined;
  if (hdrs !== undefined) {
    for (const [name, values] of hdrs) {
      if (name === KEY_HEADER) key = new Uint8Array(Buffer.from(values[0] ?? '', 'base64url'));
      else headers[name] = values.join(',');
    }
  }
  return { key, value: m.data, headers, partition, position: m.seq };
}
