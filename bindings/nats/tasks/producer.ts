// Publishes keyed messages to a partitioned input (nats/tasks/input.ts's layout), placing each
// by Kafka's default partitioner, so a key goes where a Kafka producer would put it and every
// message of a key lands in one partition, in order.
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { connect, headers, jetstream, jetstreamManager } from '../client.js';
import { kafkaPartition, StrataError } from 'strata-kv';
import { ensureStream } from '../setup.js';
import { checkInput, KEY_HEADER, type InputOptions } from './input.js';

export interface StreamProducerOptions extends InputOptions {
  servers?: string | string[];
  /** Use this connection (close() then leaves it open). */
  connection?: NatsConnection;
  /** Replicas of the stream when this call creates it (1, 3 or 5). Default 1. */
  replicas?: number;
}

export class StreamProducer {
  private closed = false;

  private constructor(private readonly nc: NatsConnection, private readonly js: JetStreamClient,
                      private readonly input: Required<InputOptions>, private readonly ownsConnection: boolean) {}

  /** Connects and creates the input stream (subjects `<prefix>.>`) when it does not exist. */
  static async connect(options: StreamProducerOptions): Promise<StreamProducer> {
    const input = checkInput(options);
    if (options.connection === undefined && options.servers === undefined) throw new StrataError('INVALID_ARGUMENT', 'StreamProducer needs servers or a connection');
    const nc = options.connection ?? await connect({ servers: options.servers!, name: 'strata-kv producer', maxReconnectAttempts: -1, reconnectTimeWait: 100 })
      .catch((err: unknown) => { throw new StrataError('IO_ERROR', `cannot connect to NATS at ${String(options.servers)}: ${(err as Error)?.message}`, { cause: err }); });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5000, checkAPI: false });
      await ensureStream(jsm, { stream: input.stream, replicas: options.replicas }, input.subjectPrefix);
      return new StreamProducer(nc, jetstream(nc, { timeout: 5000 }), input, options.connection === undefined);
    } catch (err) {
      if (options.connection === undefined) await nc.close().catch(() => {});
      throw err;
    }
  }

  /** The partition Kafka's default partitioner gives `key`. */
  partitionOf(key: Uint8Array): number { return kafkaPartition(key, this.input.partitions); }

  /**
   * Publishes `value` under `key` and resolves once JetStream stored it. `msgId` makes a
   * retried send a no-op within the stream's duplicate window.
   */
  async send(key: Uint8Array, value: Uint8Array, options?: { msgId?: string }): Promise<{ partition: number; position: number }> {
    if (this.closed || this.nc.isClosed()) throw new StrataError('CLOSED', 'the producer is closed');
    if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array)) throw new StrataError('INVALID_ARGUMENT', 'send expects a Uint8Array key and value');
    if (options !== undefined && (options === null || typeof options !== 'object')) throw new StrataError('INVALID_ARGUMENT', 'send: options must be an object { msgId? }');
    const msgId = options?.msgId;
    // An empty id would turn deduplication off without a word; a CR or LF cannot be a header.
    if (msgId !== undefined && (typeof msgId !== 'string' || msgId === '' || /[\r\n]/.test(msgId))) {
      throw new StrataError('INVALID_ARGUMENT', 'send: msgId must be a non-empty string without CR or LF');
    }
    const partition = this.partitionOf(key);
    const h = headers();
    h.set(KEY_HEADER, Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64url'));
    try {
      const ack = await this.js.publish(`${this.input.subjectPrefix}.${partition}`, value, { headers: h, msgID: msgId });
      return { partition, position: ack.seq };
    } catch (err) {
      throw publishError(err, this.nc);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsConnection) await this.nc.drain().catch(() => this.nc.close());
  }
}

/** What a failed publish is to the caller: CLOSED (the connection closed), VALUE_TOO_LARGE
 *  (past the server's max_payload), else IO_ERROR (no stream, a timeout: not stored). */
function publishError(err: unknown, nc: NatsConnection): StrataError {
  const message = `${(err as Error)?.name}: ${(err as Error)?.message}`;
  if (nc.isClosed() || /closed connection/i.test(message)) return new StrataError('CLOSED', `the NATS connection is closed: ${message}`, { cause: err });
  if (/max_payload/i.test(message)) return new StrataError('VALUE_TOO_LARGE', `the message exceeds the server's max_payload: ${message}`, { cause: err });
  return new StrataError('IO_ERROR', `the input message was not stored: ${message}`, { cause: err });
}
