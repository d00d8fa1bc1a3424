// StreamTasks: stateful stream processing on JetStream, exactly once — Samza's StreamTask with
// its KeyValueStores, Kafka Streams' processor with its state stores. One PartitionTask per
// input partition this process owns; each has one Store (its named stores inside,
// nats/tasks/task-stores.ts) whose changelog partition is on a NATS changelog stream, and
// commits input positions with state (nats/tasks/partition-task.ts). docs/STREAMS.md.
//
// Ownership, one of:
//   group       members join a group through a JetStream KV bucket with leases, and the
//               partitions are spread over the live members and move when one dies or joins
//               (nats/tasks/group.ts);
//   partitions  this process runs the partitions it is given (default: all).
// Either way a process that takes a partition over fences its changelog partition, and the
// previous owner's next commit fails (its task stops, reported through onError), so a
// partition never has two owners that both commit.
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect, jetstream, jetstreamManager } from '../client.js';
import { Standby, StrataError, type Store, type StoreOptions } from 'strata-kv';
import { shown } from '../util.js';
import { CommitSink } from './commit-sink.js';
import { NatsChangelog } from '../changelog.js';
import { checkInput, InputSource, type InputMessage, type InputOptions } from './input.js';
import { PartitionTask, processing, type PartitionTaskStats, type TaskContext, type TaskHost } from './partition-task.js';
import { storePrefix, type TaskStore, type TaskStoreSpec } from './task-stores.js';
import { GroupMember, type GroupHost } from './group.js';
import { NatsLeaseTable } from './lease-table.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** The typed stores a task sees, from the `stores` option. */
export type TaskStores<S extends Record<string, TaskStoreSpec<any, any>>> = {
  [N in keyof S]: S[N] extends TaskStoreSpec<infer K, infer V> ? TaskStore<K, V> : never;
};

export interface RebalanceEvent {
  type: 'adopted' | 'released' | 'lost';
  partition: number;
  /** adopted: changelog records restored, and the time the takeover took (fence + restore, or
   *  the standby's promotion), ms. */
  restoredRecords?: number;
  ms?: number;
  /** adopted: from this member's standby (promoted), not restored. */
  promoted?: boolean;
}

export interface StreamTasksOptions<S extends Record<string, TaskStoreSpec<any, any>>> {
  servers?: string | string[];
  /** Use this connection (stop() then leaves it open). */
  connection?: NatsConnection;
  /** Names the job: its changelog stream (`<application>-changelog` unless `changelog.stream`)
   *  and its output message ids. Two jobs must not share an application name. */
  application: string;
  input: InputOptions;
  /** Input partitions this process runs, without a group. Default: all of them. */
  partitions?: number[];
  /**
   * Join a group instead: the input's partitions are spread over the live members of the
   * application's group. A member that does not heartbeat for `leaseMs` (default 3000) is
   * dead and its partitions move; `heartbeatMs` (default leaseMs / 3). The KV bucket is
   * `<application>-group` unless `bucket`. With `standbys: 1` each partition also has a
   * standby on another member, which follows its changelog and is promoted (no restore)
   * when the partition moves there.
   */
  group?: { memberId?: string; leaseMs?: number; heartbeatMs?: number; bucket?: string; replicas?: number; standbys?: 0 | 1 };
  /** The stores of every task, by name, with their codecs. */
  stores: S;
  changelog?: { stream?: string; replicas?: number };
  /** Commit at least this often while there is work to commit, ms. Default 100. */
  commitEveryMs?: number;
  /** Options of each task's Store (in memory: its state is restored from the changelog). */
  storeOptions?: Omit<StoreOptions<Uint8Array, Uint8Array>, 'path' | 'changelog' | 'partition' | 'keyCodec' | 'valueCodec' | 'onBackgroundError'>;
  process(message: InputMessage, context: TaskContext<TaskStores<S>>): void | Promise<void>;
  /** Partition ownership changed here: adopted (restored, now processing), released (handed
   *  to another member after a commit), or lost (its lease ran out: stopped without commit). */
  onRebalance?(event: RebalanceEvent): void;
  /** A task failed and stopped: `process` threw (the error as thrown), its changelog failed or
   *  was fenced by a newer owner (a StrataError). Default: print it. */
  onError?(error: unknown, partition: number): void;
}

export class StreamTasks<S extends Record<string, TaskStoreSpec<any, any>> = Record<string, TaskStoreSpec<any, any>>> implements TaskHost, GroupHost {
  readonly application: string;
  /** @internal TaskHost: the outputs' client. */
  readonly js: JetStreamClient;
  /** @internal TaskHost */
  readonly stores: S;
  /** @internal TaskHost */
  readonly storeOptions: StoreOptions<Uint8Array, Uint8Array>;
  readonly commitEveryMs: number;
  private readonly tasks = new Map<number, PartitionTask>();
  private stopped = false;
  /** stop()'s work, once started: every call returns it. */
  private stopping: Promise<void> | undefined;
  private member: GroupMember | undefined;
  private heartbeats: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Standbys this member keeps (group.standbys): partition → the standby and the sink its
   *  promoted Store writes to. */
  private readonly standbyOf = new Map<number, Promise<{ standby: Standby; sink: CommitSink }>>();

  private constructor(private readonly nc: NatsConnection, private readonly ownsConnection: boolean,
                      readonly changelog: NatsChangelog, /** @internal */ readonly input: InputSource,
                      private readonly options: StreamTasksOptions<S>) {
    this.application = options.application;
    this.js = jetstream(nc, { timeout: 5000 });
    this.stores = options.stores;
    this.storeOptions = { ...(options.storeOptions ?? {}) };
    this.commitEveryMs = options.commitEveryMs ?? 100;
  }

  /** Connects, takes over the partitions (fence, restore) and starts processing them. */
  static async start<S extends Record<string, TaskStoreSpec<any, any>>>(options: StreamTasksOptions<S>): Promise<StreamTasks<S>> {
    const o = checkOptions(options);
    const input = checkInput(o.input);
    const partitions = o.partitions ?? Array.from({ length: input.partitions }, (_, i) => i);
    for (const p of partitions) {
      if (!Number.isInteger(p) || p < 0 || p >= input.partitions) throw new StrataError('INVALID_ARGUMENT', `partition ${shown(p)} is not one of the input's ${input.partitions}`);
    }
    const nc = o.connection ?? await connect({ servers: o.servers!, name: `strata-kv ${o.application}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
      .catch((err: unknown) => { throw new StrataError('IO_ERROR', `cannot connect to NATS at ${String(o.servers)}: ${(err as Error)?.message}`, { cause: err }); });
    let changelog: NatsChangelog | undefined;
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5000, checkAPI: false });
      await requireStream(jsm, input.stream);
      // Acknowledged mode and history retention: commits are fenced and kept whole (partition-task.ts).
      changelog = await NatsChangelog.connect({
        servers: [], connection: nc, stream: o.changelog?.stream ?? `${o.application}-changelog`, replicas: o.changelog?.replicas,
        mode: 'acknowledged', retention: 'history',
      });
      const tasks = new StreamTasks(nc, o.connection === undefined, changelog, new InputSource(nc, jsm, input), o);
      if (o.group !== undefined) {
        const g = o.group;
        const leaseMs = g.leaseMs ?? 3000;
        const table = await NatsLeaseTable.open(nc, g.bucket ?? `${o.application}-group`, leaseMs, g.replicas ?? o.changelog?.replicas ?? 1);
        const id = g.memberId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
        tasks.member = new GroupMember(table, id, input.partitions, tasks, (g.standbys ?? 0) > 0);
        await tasks.member.heartbeat();
        tasks.heartbeats = tasks.beat(g.heartbeatMs ?? Math.floor(leaseMs / 3));
      } else {
        const adopted = await Promise.allSettled([...new Set(partitions)].map((p) => tasks.adopt(p)));
        const failed = adopted.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
        if (failed) {
          await Promise.allSettled([...tasks.tasks.values()].map((t) => t.abort()));
          throw failed.reason;
        }
      }
      return tasks;
    } catch (err) {
      await changelog?.close().catch(() => {});
      if (o.connection === undefined) await nc.close().catch(() => {});
      throw err;
    }
  }

  /** This member's id in its group (undefined without one). */
  get memberId(): string | undefined { return this.member?.id; }

  /** Heartbeats at a fixed rate: one every `everyMs` from the start of the last (a slow one is
   *  followed at once by the next), never two at a time. */
  private async beat(everyMs: number): Promise<void> {
    let next = Date.now() + everyMs;
    while (!this.stopped) {
      const wait = Math.max(0, next - Date.now());
      await new Promise<void>((r) => { const t = setTimeout(r, wait); this.wake = () => { clearTimeout(t); r(); }; });
      if (this.stopped) return;
      next = Date.now() + everyMs;
      await this.member!.heartbeat(); // never rejects: failures go to heartbeatFailed
    }
  }

  /** Adoptions in flight: a partition is never adopted twice at once. */
  private readonly adopting = new Map<number, Promise<void>>();

  /**
   * Takes partition p over (fence, restore or promote its standby, resume) and processes it.
   * Without a group, call it to take a partition over from another process; a partition whose
   * task failed is adopted afresh.
   */
  adopt(partition: number): Promise<void> {
    if (this.stopped) return Promise.reject(new StrataError('CLOSED', 'the stream tasks are stopped'));
    const inFlight = this.adopting.get(partition);
    if (inFlight) return inFlight;
    const current = this.tasks.get(partition);
    if (current !== undefined && current.stats().failure === undefined) return Promise.resolve();
    const adoption = (async () => {
      if (current !== undefined) { this.tasks.delete(partition); await current.abort(); }
      const t0 = performance.now();
      const promoted = await this.promoteStandby(partition);
      const task = await PartitionTask.start(this, partition, promoted);
      if (this.stopped) { await task.abort(); throw new StrataError('CLOSED', 'the stream tasks are stopped'); }
      this.tasks.set(partition, task);
      this.callback(() => this.options.onRebalance?.({ type: 'adopted', partition, restoredRecords: task.restored.records, ms: performance.now() - t0, promoted: promoted !== undefined }));
    })().finally(() => this.adopting.delete(partition));
    this.adopting.set(partition, adoption);
    return adoption;
  }

  /** Runs a user callback; one that throws must not stop a heartbeat or a task. */
  private callback(run: () => void): void {
    try {
      run();
    } catch (err) {
      console.error(`strata-kv StreamTasks ${this.application}: a callback threw:`, err);
    }
  }

  /** The partitions whose tasks run (failed ones included, until stop()). */
  get partitions(): number[] { return [...this.tasks.keys()].sort((a, b) => a - b); }

  /**
   * Store `name` of partition p, to query (Kafka Streams' interactive queries). It shows the
   * task's state as processed so far, committed or not. It takes no writes (INVALID_ARGUMENT):
   * write from `process`, through its context's stores.
   */
  store<N extends keyof S & string>(name: N, partition: number): TaskStores<S>[N] {
    const t = this.tasks.get(partition);
    if (t === undefined) throw new StrataError('INVALID_ARGUMENT', `partition ${partition} is not run here`);
    const s = t.stores[name];
    if (s === undefined) throw new StrataError('INVALID_ARGUMENT', `no store named ${JSON.stringify(name)}`);
    return s as TaskStores<S>[N];
  }

  stats(): PartitionTaskStats[] { return this.partitions.map((p) => this.tasks.get(p)!.stats()); }

  /** The partition's standby, promoted (fenced, caught up, writable), or undefined when there
   *  is none or it fails (the task then restores from the changelog). */
  private async promoteStandby(partition: number): Promise<{ store: Store; sink: CommitSink } | undefined> {
    const pending = this.standbyOf.get(partition);
    if (pending === undefined) return undefined;
    this.standbyOf.delete(partition);
    let standby: Standby | undefined;
    try {
      const ready = await pending;
      standby = ready.standby;
      return { store: await standby.promote(), sink: ready.sink };
    } catch {
      await standby?.close().catch(() => {}); // a failed promote follows again: stop it
      return undefined;
    }
  }

  /** @internal GroupHost: follow exactly these partitions' changelogs. */
  standbys(partitions: number[]): void {
    const want = new Set(partitions);
    for (const [p, pending] of this.standbyOf) {
      if (want.has(p)) continue;
      this.standbyOf.delete(p);
      void pending.then(({ standby }) => standby.close()).catch(() => {});
    }
    for (const p of want) {
      if (this.standbyOf.has(p) || this.tasks.has(p) || this.stopped) continue;
      const sink = new CommitSink();
      const pending = Standby.follow({ ...this.storeOptions, source: this.changelog, partition: p, changelog: sink }).then((standby) => ({ standby, sink }));
      pending.catch(() => { if (this.standbyOf.get(p) === pending) this.standbyOf.delete(p); }); // tried again next heartbeat
      this.standbyOf.set(p, pending);
    }
  }

  /** @internal GroupHost: p moves to another member. */
  async release(partition: number): Promise<void> {
    const t = this.tasks.get(partition);
    this.tasks.delete(partition);
    await t?.stop().catch(() => {}); // a failed task was reported through onError already
    if (t) this.callback(() => this.options.onRebalance?.({ type: 'released', partition }));
  }

  /** @internal GroupHost: p's lease is lost. */
  async abandon(partition: number): Promise<void> {
    const t = this.tasks.get(partition);
    this.tasks.delete(partition);
    await t?.abort();
    if (t) this.callback(() => this.options.onRebalance?.({ type: 'lost', partition }));
  }

  /** @internal GroupHost */
  adoptFailed(partition: number, error: unknown): void { this.taskFailed(partition, error); }

  /** @internal GroupHost */
  heartbeatFailed(error: unknown): void {
    this.taskFailed(-1, new StrataError('IO_ERROR', `group heartbeat of ${this.member?.id}: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
  }

  /**
   * Commits and stops every task (a group member first hands its partitions back), then
   * closes the changelog and the connection (if it opened it). Every call returns the same
   * promise. Called from inside `process`, it starts the stop and resolves at once without
   * waiting for it (as Kafka Streams' close() from a stream thread): the stop waits for that
   * very call to return, so awaiting it there would never end. Failures then reach onError.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    const inside = processing.getStore();
    if (inside !== undefined && inside.host === this && inside.inFlight()) {
      this.stopping.catch(() => {}); // reported through onError as they happened
      return Promise.resolve();
    }
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.heartbeats;
    if (this.member) await this.member.leave();
    this.standbys([]);
    const results = await Promise.allSettled([...this.tasks.values()].map((t) => t.stop()));
    await this.changelog.close().catch(() => {});
    if (this.ownsConnection) await this.nc.drain().catch(() => this.nc.close());
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
  }

  /** @internal */
  process(message: InputMessage, context: TaskContext): void | Promise<void> {
    return this.options.process(message, context as TaskContext<TaskStores<S>>);
  }

  /**
   * @internal A task failed (`partition` -1: the group's heartbeat). In a group, the member
   * gives the partition's lease up (the task is aborted, nothing more committed), and the
   * group adopts it afresh — restored from the changelog — on a later heartbeat: a transient
   * failure heals, a message that always fails is retried once per lease period and reported
   * each time.
   */
  taskFailed(partition: number, error: unknown): void {
    this.callback(() => {
      if (this.options.onError) this.options.onError(error, partition);
      else console.error(`strata-kv StreamTasks ${this.application}: partition ${partition} stopped:`, error);
    });
    // Not from inside the task's own chain: abort() waits for that chain.
    if (partition >= 0 && this.member !== undefined && !this.stopped) setImmediate(() => { void this.member?.giveUp(partition); });
  }
}

/** The input stream must exist (StreamProducer.connect creates it): a misspelt name would
 *  otherwise leave every task waiting for messages that never come. */
async function requireStream(jsm: JetStreamManager, stream: string): Promise<void> {
  // Retried through leader elections (a worker started while the cluster elects must not
  // fail: the stream example kills the leader while replacements start), for as long as
  // NatsChangelog.connect retries its own stream's setup; "not found" is an answer, at once.
  const deadline = Date.now() + 60_000;
  for (let backoff = 50; ; backoff = Math.min(backoff * 2, 1000)) {
    try {
      await jsm.streams.info(stream);
      return;
    } catch (err) {
      const e = err as { code?: number; api_error?: { err_code?: number }; message?: string };
      if (e?.code === 10059 || e?.api_error?.err_code === 10059 || /stream not found/i.test(String(e?.message))) {
        throw new StrataError('INVALID_ARGUMENT', `input stream ${stream} does not exist (StreamProducer.connect creates it)`, { cause: err });
      }
      if (Date.now() + backoff > deadline) throw new StrataError('IO_ERROR', `cannot read input stream ${stream}: ${e?.message}`, { cause: err });
      await new Promise((r) => setTimeout(r, backoff));
    }
  }
}

function checkOptions<S extends Record<string, TaskStoreSpec<any, any>>>(o: StreamTasksOptions<S>): StreamTasksOptions<S> {
  const bad = (m: string) => new StrataError('INVALID_ARGUMENT', m);
  if (o === null || typeof o !== 'object') throw bad('StreamTasks.start expects an options object');
  if (typeof o.application !== 'string' || !/^[A-Za-z0-9_-]+$/.test(o.application)) throw bad(`application must be letters, digits, _ and -, got ${shown(o.application)}`);
  if (o.connection === undefined && o.servers === undefined) throw bad('StreamTasks needs servers or a connection');
  if (typeof o.process !== 'function') throw bad('process must be a function');
  if (o.stores === null || typeof o.stores !== 'object') throw bad('stores must be an object of { name: { keyCodec?, valueCodec? } }');
  for (const [name, spec] of Object.entries(o.stores)) {
    storePrefix(name);
    checkSpec(name, spec);
  }
  // Every option is checked here, before a connection is made: one a task uses only once it
  // runs (a store's codec, a callback) would otherwise fail there, as a TypeError.
  if (o.servers !== undefined && typeof o.servers !== 'string' && !(Array.isArray(o.servers) && o.servers.every((x) => typeof x === 'string'))) {
    throw bad(`servers must be a URL or an array of URLs, got ${shown(o.servers)}`);
  }
  const c = o.connection as unknown as Record<string, unknown> | undefined;
  if (c !== undefined && (c === null || typeof c !== 'object' || typeof c.publish !== 'function' || typeof c.request !== 'function')) {
    throw bad('connection must be a NATS connection');
  }
  if (o.partitions !== undefined && !Array.isArray(o.partitions)) throw bad(`partitions must be an array of partition numbers, got ${shown(o.partitions)}`);
  for (const n of ['onError', 'onRebalance'] as const) {
    if (o[n] !== undefined && typeof o[n] !== 'function') throw bad(`${n} must be a function`);
  }
  if (o.changelog !== undefined) {
    if (o.changelog === null || typeof o.changelog !== 'object') throw bad('changelog must be an object { stream?, replicas? }');
    checkName(o.changelog.stream, 'changelog.stream');
    checkReplicas(o.changelog.replicas, 'changelog.replicas');
  }
  if (o.storeOptions !== undefined && (o.storeOptions === null || typeof o.storeOptions !== 'object')) throw bad('storeOptions must be an object');
  if (o.group !== undefined && o.partitions !== undefined) throw bad('give partitions or group, not both');
  if (o.group !== undefined) {
    if (o.group === null || typeof o.group !== 'object') throw bad('group must be an object { memberId?, leaseMs?, heartbeatMs?, bucket?, replicas?, standbys? }');
    const { leaseMs, heartbeatMs, memberId, bucket, replicas, standbys } = o.group;
    checkName(memberId, 'group.memberId');
    checkName(bucket, 'group.bucket');
    checkReplicas(replicas, 'group.replicas');
    if (standbys !== undefined && standbys !== 0 && standbys !== 1) throw bad(`group.standbys must be 0 or 1, got ${shown(standbys)}`);
    if (leaseMs !== undefined && (!Number.isFinite(leaseMs) || leaseMs < 100)) throw bad(`group.leaseMs must be ≥ 100, got ${shown(leaseMs)}`);
    if (heartbeatMs !== undefined && (!Number.isFinite(heartbeatMs) || heartbeatMs < 10 || heartbeatMs * 2 > (leaseMs ?? 3000))) {
      throw bad(`group.heartbeatMs must be from 10 to half the lease, got ${shown(heartbeatMs)}`);
    }
  }
  if (o.commitEveryMs !== undefined && (!Number.isFinite(o.commitEveryMs) || o.commitEveryMs < 1)) throw bad(`commitEveryMs must be a number ≥ 1, got ${shown(o.commitEveryMs)}`);
  const so = o.storeOptions as Record<string, unknown> | undefined;
  for (const k of ['path', 'changelog', 'partition', 'keyCodec', 'valueCodec']) {
    if (so?.[k] !== undefined) throw bad(`storeOptions.${k} is set by StreamTasks (a task's Store lives in memory and is restored from its changelog)`);
  }
  for (const k of ['ttlMs', 'expirySweepMs']) {
    // A TTL covers every key of the Store, the input position included: an expired position
    // would make the next owner reprocess the partition from its start.
    if (so?.[k] !== undefined) throw bad(`storeOptions.${k} is not supported by StreamTasks: a TTL would expire the task's input position too`);
  }
  return o;
}

/** A name that goes into a NATS subject or KV key: letters, digits, _ and - (undefined: the default). */
function checkName(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'string' || !/^[A-Za-z0-9_-]+$/.test(v))) {
    throw new StrataError('INVALID_ARGUMENT', `${name} must be letters, digits, _ and -, got ${shown(v)}`);
  }
}

/** A JetStream replica count: 1 to 5 (undefined: the default). */
function checkReplicas(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 5)) {
    throw new StrataError('INVALID_ARGUMENT', `${name} must be an integer from 1 to 5, got ${shown(v)}`);
  }
}

/** A store's TaskStoreSpec: an object whose codecs have encode and decode, and whose merge
 *  operators are functions. */
function checkSpec(name: string, spec: unknown): void {
  const bad = (m: string) => new StrataError('INVALID_ARGUMENT', `stores.${name}: ${m}`);
  if (spec === null || typeof spec !== 'object') throw bad('must be an object { keyCodec?, valueCodec?, mergeOperators? }');
  const s = spec as Record<string, unknown>;
  for (const c of ['keyCodec', 'valueCodec']) {
    const codec = s[c] as { encode?: unknown; decode?: unknown } | undefined;
    if (codec !== undefined && (codec === null || typeof codec.encode !== 'function' || typeof codec.decode !== 'function')) throw bad(`${c} must have encode and decode functions`);
  }
  const ops = s.mergeOperators;
  if (ops !== undefined && (ops === null || typeof ops !== 'object' || Object.values(ops).some((f) => typeof f !== 'function'))) throw bad('mergeOperators must be an object of functions');
}
