// One input partition's task: takes the partition over, processes its input in order, and
// commits. The exactly-once protocol (docs/STREAMS.md):
//
//   start   fence the changelog partition (a previous owner's later appends become invisible
//           and its next publish fails), restore the Store from it, read the input position
//           the last commit wrote, and consume the input from the message after it.
//   process each message; its writes go to the Store (reads see them at once) and their
//           change records wait in the CommitSink; outputs are published at once, each with a
//           message id made of (application, partition, input position, output index).
//   commit  wait for every output's ack, write the input position, then append everything
//           since the last commit to the changelog as one append and wait for its ack.
//
// INVARIANTS: (1) the changelog holds whole commits only, each ending with the position of
// the last input message whose effects it holds, so a restore gives the state of a prefix of
// the input and where to resume; (2) a commit is appended only after the outputs of the
// messages it covers are acknowledged, so a message whose effects are committed has its
// outputs stored, and one replayed after a crash republishes the same message ids, which
// JetStream drops within its duplicate window; (3) after any failure (the user's `process`
// throws, the changelog fails or is fenced) nothing more is committed and the task's Store
// — possibly ahead of the changelog — is thrown away; a restart restores from the changelog;
// (4) every write to the stores and every output belongs to one input message: a context's
// stores and send() work only while its `process` call is in flight (until the promise it
// returned settles). A write or send after that would be committed with some later message,
// or never, and a replay would not repeat it.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { headers as natsHeaders } from '../client.js';
import { Store, StrataError, type StoreOptions } from 'strata-kv';
import type { NatsChangelog } from '../changelog.js';
import { partitionMessages } from '../follower.js';
import { CommitSink } from './commit-sink.js';
import { toInputMessage, type InputMessage, type InputSource } from './input.js';
import { decodePosition, encodePosition, POSITION_KEY, storePrefix, TaskStore, type TaskStoreSpec } from './task-stores.js';

/** The longest a task processes buffered input without letting the event loop turn, ms. */
const YIELD_EVERY_MS = 10;
/** How often a task asks for its input partition's last position (the stall watchdog), ms. */
const INPUT_PROBE_MS = 1000;

/** Inside a `process` call (through every await and callback it starts): whose task it is,
 *  and whether that call is still in flight. StreamTasks.stop() asks it, since waiting for
 *  the tasks from inside one of their own calls would wait for itself. */
export const processing = new AsyncLocalStorage<{ host: TaskHost; inFlight: () => boolean }>();

/** What `process` gets beside the message. */
export interface TaskContext<S = Record<string, TaskStore<any, any>>> {
  readonly partition: number;
  /** The partition's stores by name. */
  readonly stores: S;
  /**
   * Publishes an output message. Its id is derived from the input message and the output's
   * index, so a replay after a crash is dropped by JetStream as a duplicate (within the
   * output stream's duplicate window). The publish is acknowledged before the next commit.
   */
  send(subject: string, value: Uint8Array, options?: { headers?: Record<string, string> }): void;
}

/** What a PartitionTask needs of its StreamTasks. */
export interface TaskHost {
  readonly application: string;
  readonly changelog: NatsChangelog;
  readonly input: InputSource;
  readonly js: JetStreamClient;
  readonly stores: Record<string, TaskStoreSpec<any, any>>;
  readonly storeOptions: StoreOptions<Uint8Array, Uint8Array>;
  readonly commitEveryMs: number;
  process(message: InputMessage, context: TaskContext): void | Promise<void>;
  /** `error`: what `process` threw, as it threw it, or a StrataError. */
  taskFailed(partition: number, error: unknown): void;
}

export interface PartitionTaskStats {
  partition: number;
  /** Stream sequence of the last input message processed. */
  position: number;
  /** Stream sequence of the last input message whose effects are committed. */
  committedPosition: number;
  processed: number;
  commits: number;
  /** Set once the task has failed (it processes nothing more): what `process` threw, or a StrataError. */
  failure?: unknown;
}

export class PartitionTask {
  private store!: Store;
  /** The stores by name, for queries (they refuse writes: TaskStore.writableWhile). */
  private taskStores!: Record<string, TaskStore<any, any>>;
  /** The message whose `process` call is in flight: its context's writes and sends go
   *  through only while it is this one (INVARIANT 4). */
  private live: InputMessage | undefined;
  private position = 0;
  private committedPosition = 0;
  private processed = 0;
  private commits = 0;
  private outputs: Promise<PubAck>[] = [];
  private outputIndex = 0;
  private stopping = false;
  /** What start() restored, and how long it took (fence excluded). */
  restored = { records: 0, ms: 0 };
  /** Set by abort(): nothing more is committed. */
  private aborted = false;
  private failure: unknown;
  private stopConsumer: (() => void) | undefined;
  /** Processing and commits run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The input partition's last position, as last asked (the consumer's stall watchdog). */
  private inputEnd = 0;
  private probe: ReturnType<typeof setInterval> | undefined;
  private loop: Promise<void> = Promise.resolve();

  private constructor(private readonly host: TaskHost, readonly partition: number, private readonly sink: CommitSink) {}

  /**
   * Fences, restores and starts consuming; or, given a promoted standby's Store (fenced and
   * caught up by its promote) with the sink it writes to, starts from it. Resolves once the
   * task is processing.
   */
  static async start(host: TaskHost, partition: number, promoted?: { store: Store; sink: CommitSink }): Promise<PartitionTask> {
    const t = new PartitionTask(host, partition, promoted?.sink ?? new CommitSink());
    if (promoted !== undefined) {
      t.store = promoted.store;
    } else {
      await host.changelog.fence(partition);
      t.store = await Store.open({ ...host.storeOptions, partition, changelog: t.sink });
    }
    try {
      if (promoted === undefined) {
        const t0 = performance.now();
        const { records } = await t.store.restore(host.changelog.read(partition));
        t.restored = { records, ms: performance.now() - t0 };
      }
      t.position = t.committedPosition = decodePosition(t.store.get(POSITION_KEY));
      t.taskStores = {};
      for (const [name, spec] of Object.entries(host.stores)) t.taskStores[name] = new TaskStore(t.store, storePrefix(name), spec);
    } catch (err) {
      await t.store.close().catch(() => {});
      throw err;
    }
    t.loop = t.run();
    // While the input holds messages past the task's position, a consumer that delivers
    // nothing is stalled (after a leader change an ordered consumer can stop without an
    // error): partitionMessages then opens another.
    t.probe = setInterval(() => { host.input.lastPosition(partition).then((end) => { t.inputEnd = end; }, () => {}); }, INPUT_PROBE_MS);
    t.probe.unref?.();
    t.timer = setInterval(() => { if (t.position > t.committedPosition) void t.serial(() => t.commit()); }, host.commitEveryMs);
    t.timer.unref?.();
    return t;
  }

  /** The task's stores by name. */
  get stores(): Record<string, TaskStore<any, any>> { return this.taskStores; }

  stats(): PartitionTaskStats {
    const s: PartitionTaskStats = { partition: this.partition, position: this.position, committedPosition: this.committedPosition, processed: this.processed, commits: this.commits };
    if (this.failure !== undefined) s.failure = this.failure;
    return s;
  }

  /** Stops consuming, commits what was processed (unless the task failed), closes the Store. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopConsumer?.();
    if (this.timer) clearInterval(this.timer);
    if (this.probe) clearInterval(this.probe);
    await this.loop;
    await this.serial(() => this.commit());
    await this.store.close().catch(() => {});
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Stops at once, committing nothing more, and closes the Store: the partition's lease is
   * lost, and another owner may have fenced it already (what was not committed is replayed
   * by the next owner).
   */
  async abort(): Promise<void> {
    this.aborted = true;
    this.stopping = true;
    this.stopConsumer?.();
    if (this.timer) clearInterval(this.timer);
    if (this.probe) clearInterval(this.probe);
    await this.loop;
    await this.chain;
    await this.store.close().catch(() => {});
  }

  private async run(): Promise<void> {
    const done = () => this.stopping || this.failure !== undefined;
    try {
      let yieldedAt = Date.now();
      for await (const m of partitionMessages(this.host.input, this.partition, () => this.position, () => this.inputEnd > this.position, done,
                                              (stop) => { this.stopConsumer = stop; })) {
        await this.serial(() => this.handle(toInputMessage(m, this.partition)));
        if (done()) break;
        // Buffered messages arrive as resolved promises: without a turn of the event loop now
        // and then, timers and socket reads wait behind them — the group's heartbeats among
        // them, and a member that cannot renew its leases loses its partitions.
        if (Date.now() - yieldedAt >= YIELD_EVERY_MS) {
          await new Promise((r) => setImmediate(r));
          yieldedAt = Date.now();
        }
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private serial(step: () => void | Promise<void>): Promise<void> {
    const run = this.chain.then(() => (this.failure !== undefined || this.aborted ? undefined : step()));
    this.chain = run.catch((err) => this.fail(err));
    return this.chain;
  }

  private async handle(message: InputMessage): Promise<void> {
    if (message.position <= this.position) return; // already processed (a consumer restarted)
    this.outputIndex = 0;
    this.position = message.position; // the id of the outputs `process` sends
    this.live = message;
    try {
      const ctx = this.contextOf(message);
      await processing.run({ host: this.host, inFlight: () => this.live === message }, () => this.host.process(message, ctx));
    } finally {
      this.live = undefined;
    }
    this.processed++;
    // Commit before the batch outgrows one changelog message (INVARIANT 1).
    if (this.sink.bytes > this.host.changelog.maxMessageBytes / 2) await this.commit();
  }

  /** `message`'s context: its stores' writes and its sends go through only while its
   *  `process` call is in flight (INVARIANT 4). */
  private contextOf(message: InputMessage): TaskContext {
    const guard = () => this.checkLive(message);
    const stores: Record<string, TaskStore<any, any>> = {};
    for (const name in this.taskStores) stores[name] = this.taskStores[name].writableWhile(guard);
    return { partition: this.partition, stores, send: (subject, value, o) => { guard(); this.send(subject, value, o); } };
  }

  /** Throws unless `message`'s `process` call is in flight: CLOSED once the task has stopped
   *  or failed, INVALID_ARGUMENT while it runs on (the write would belong to no message). */
  private checkLive(message: InputMessage): void {
    if (this.live === message) return;
    if (this.failure !== undefined || this.stopping) throw new StrataError('CLOSED', `the task of partition ${this.partition} has ${this.failure !== undefined ? 'failed' : 'stopped'}`);
    throw new StrataError('INVALID_ARGUMENT', `process for input position ${message.position} of partition ${this.partition} has returned: `
      + 'its context writes and sends only while it runs (await the work inside process)');
  }

  private send(subject: string, value: Uint8Array, options?: { headers?: Record<string, string> }): void {
    if (this.failure !== undefined) throw this.failure;
    if (typeof subject !== 'string' || !(value instanceof Uint8Array)) throw new StrataError('INVALID_ARGUMENT', 'send expects a subject and a Uint8Array value');
    // Checked here, at the call: NATS would refuse the publish only when the next commit
    // awaits it, and the whole task would stop with IO_ERROR for one bad argument.
    if (!PUBLISH_SUBJECT.test(subject)) {
      throw new StrataError('INVALID_ARGUMENT', `send: ${JSON.stringify(subject)} is not a subject to publish to (tokens of visible characters joined by '.', no wildcard)`);
    }
    const h = outputHeaders(options);
    const msgID = `${this.host.application}.${this.partition}.${this.position}.${this.outputIndex++}`;
    const p = this.host.js.publish(subject, value, { msgID, headers: h });
    p.catch(() => {}); // awaited by the next commit
    this.outputs.push(p);
  }

  private async commit(): Promise<void> {
    if (this.position === this.committedPosition) return;
    const position = this.position;
    const outputs = this.outputs;
    this.outputs = [];
    await Promise.all(outputs).catch((err) => { throw new StrataError('IO_ERROR', `an output of partition ${this.partition} was not stored: ${(err as Error)?.message}`, { cause: err }); });
    this.store.put(POSITION_KEY, encodePosition(position));
    const bytes = this.sink.bytes;
    const batch = this.sink.take();
    if (bytes > this.host.changelog.maxMessageBytes - 1024) {
      // Appended, it would span messages and a crash could leave half of it (INVARIANT 1).
      throw new StrataError('VALUE_TOO_LARGE', `partition ${this.partition}: a commit of ${bytes} bytes does not fit one changelog message ` +
        `(${this.host.changelog.maxMessageBytes} bytes); the writes of one input message must fit in half of it`);
    }
    await this.host.changelog.append(batch);
    this.committedPosition = position;
    this.commits++;
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err ?? new StrataError('IO_ERROR', `partition ${this.partition}'s task failed`);
    this.stopConsumer?.();
    if (this.timer) clearInterval(this.timer);
    if (this.probe) clearInterval(this.probe);
    this.host.taskFailed(this.partition, this.failure);
  }
}

/** A subject NATS publishes to: non-empty tokens of printable non-space characters, joined
 *  by '.', none of them a wildcard ('*' or '>'). */
const PUBLISH_SUBJECT = /^(?![*>](?:\.|$))[^\s.]+(?:\.(?![*>](?:\.|$))[^\s.]+)*$/;

/** send()'s options, checked: undefined or `{ headers?: { name: string value } }`, made into
 *  NATS headers (INVALID_ARGUMENT for what NATS would refuse: a name or value it cannot carry). */
function outputHeaders(options: unknown): MsgHdrs | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object') throw new StrataError('INVALID_ARGUMENT', 'send: options must be an object { headers? }');
  const headers = (options as { headers?: unknown }).headers;
  if (headers === undefined) return undefined;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) throw new StrataError('INVALID_ARGUMENT', 'send: headers must be an object of strings');
  const h = natsHeaders();
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string') throw new StrataError('INVALID_ARGUMENT', `send: header ${JSON.stringify(k)} must be a string`);
    try {
      h.set(k, v);
    } catch (err) {
      throw new StrataError('INVALID_ARGUMENT', `send: header ${JSON.stringify(k)}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }
  return h;
}
