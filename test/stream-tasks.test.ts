// StreamTasks (strata-kv/nats) against real nats-servers: the exactly-once protocol of
// nats/tasks/partition-task.ts. In process, on one server: state and input position survive
// a stop and a restart; a `process` that throws stops its task without committing anything of
// the run it was in, nor does an output that cannot be stored; a commit that cannot fit one
// changelog message is refused whole; bad
// options are INVALID_ARGUMENT; the NATS changelog never cuts an append that fits a message.
// Across processes, on a 3-node cluster (R3): examples/stream-counter/run.mjs SIGKILLs workers
// at random (one just as it adopts a dead worker's partition), pauses one past its lease and
// SIGKILLs the changelog stream's leader, then checks every count and every output.
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { codecs, kafkaPartition, StrataError, type ChangeRecord } from 'strata-kv';
import { NatsChangelog, StreamProducer, StreamTasks, type StreamTasksOptions } from 'strata-kv/nats';
import { decodeMessage } from '../bindings/nats/format.js';
import { natsForFile } from './support/nats-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const server = natsForFile('test/stream-tasks.test.ts');
const bin = server.bin;
let jobNo = 0;

const utf8 = codecs.utf8;
const stores = { counts: { keyCodec: codecs.utf8, valueCodec: codecs.uint32 } };
type Counts = typeof stores;

/** A job's names, fresh per test. */
function job() {
  const n = ++jobNo;
  return { input: `in${n}`, application: `job${n}`, partitions: 3 };
}

function counter(o: ReturnType<typeof job>, extra: Partial<StreamTasksOptions<Counts>> = {}) {
  return StreamTasks.start<Counts>({
    connection: server.nc, application: o.application, input: { stream: o.input, partitions: o.partitions }, stores, commitEveryMs: 20,
    process(m, ctx) {
      const user = utf8.decode(m.key!);
      ctx.stores.counts.put(user, (ctx.stores.counts.get(user) ?? 0) + 1);
    },
    ...extra,
  });
}

/** Sends `views` to the job's input; returns the true count per user and each partition's last position. */
async function produce(o: ReturnType<typeof job>, users: string[]): Promise<{ expected: Map<string, number>; last: number[] }> {
  const producer = await StreamProducer.connect({ connection: server.nc, stream: o.input, partitions: o.partitions });
  const expected = new Map<string, number>();
  const last = new Array(o.partitions).fill(0);
  for (const u of users) {
    expected.set(u, (expected.get(u) ?? 0) + 1);
    const { partition, position } = await producer.send(utf8.encode(u), new Uint8Array(0));
    last[partition] = Math.max(last[partition], position);
  }
  await producer.close();
  return { expected, last };
}

/** Waits until every task runs here has committed its partition's last position; with `all`,
 *  every partition of the input must run here too. */
async function caughtUp(tasks: StreamTasks<Counts>, last: number[], ms = 15_000, all = false): Promise<void> {
  const deadline = Date.now() + ms;
  const done = () => (!all || tasks.partitions.length === last.length) && tasks.stats().every((s) => s.committedPosition >= last[s.partition]);
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not caught up: ${JSON.stringify(tasks.stats())} vs ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function countsOf(tasks: StreamTasks<Counts>): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of tasks.partitions) for (const [u, n] of tasks.store('counts', p).all()) out.set(u, n);
  return out;
}

const usersOf = (n: number, distinct: number) => Array.from({ length: n }, (_, i) => `user-${(i * 7919) % distinct}`);

describe.skipIf(!bin)('StreamTasks on one nats-server', () => {
  it('counts exactly, and a restarted job resumes from the committed position with the committed state', async () => {
    const o = job();
    const first = await produce(o, usersOf(600, 40));
    const a = await counter(o);
    await caughtUp(a, first.last);
    expect(countsOf(a)).toEqual(first.expected);
    await a.stop();

    const more = await produce(o, usersOf(300, 50));
    const b = await counter(o);
    await caughtUp(b, more.last);
    const want = new Map(first.expected);
    for (const [u, n] of more.expected) want.set(u, (want.get(u) ?? 0) + n);
    expect(countsOf(b)).toEqual(want);
    expect(b.stats().reduce((s, t) => s + t.processed, 0)).toBe(300); // none of the first 600 again
    await b.stop();
  }, 60_000);

  it('a process that throws stops its task; nothing of the uncommitted run is kept, and a restart counts exactly', async () => {
    const o = job();
    const { expected, last } = await produce(o, usersOf(400, 30));
    const errors: unknown[] = [];
    const boom = new Error('boom');
    let calls = 0;
    const a = await counter(o, {
      partitions: [0],
      process(m, ctx) {
        const user = utf8.decode(m.key!);
        ctx.stores.counts.put(user, (ctx.stores.counts.get(user) ?? 0) + 1); // written before the throw
        if (++calls === 50) throw boom;
      },
      onError: (err) => errors.push(err),
    });
    for (const deadline = Date.now() + 10_000; errors.length === 0;) {
      if (Date.now() > deadline) throw new Error('process never failed');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(errors).toEqual([boom]); // as thrown
    expect(a.stats()[0].failure).toBe(boom);
    expect(a.stats()[0].committedPosition).toBeLessThan(a.stats()[0].position);
    await expect(a.stop()).rejects.toBe(boom);

    const b = await counter(o, { partitions: [0] });
    await caughtUp(b, last);
    const want = new Map([...expected].filter(([u]) => kafkaPartition(utf8.encode(u), o.partitions) === 0));
    expect(want.size).toBeGreaterThan(0);
    expect(countsOf(b)).toEqual(want);
    await b.stop();
  }, 60_000);

  it('an output that cannot be stored stops the task before the commit that covers it (IO_ERROR)', async () => {
    const o = job();
    await produce(o, ['u1']);
    const errors: unknown[] = [];
    const a = await counter(o, {
      partitions: [kafkaPartition(utf8.encode('u1'), o.partitions)],
      process(_m, ctx) {
        ctx.stores.counts.put('u1', 1);
        ctx.send('nowhere.at.all', new Uint8Array(1)); // no stream stores this subject: the publish fails
      },
      onError: (err) => errors.push(err),
    });
    for (const deadline = Date.now() + 15_000; errors.length === 0;) {
      if (Date.now() > deadline) throw new Error('no failure');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((errors[0] as StrataError).code).toBe('IO_ERROR');
    expect(a.stats()[0].committedPosition).toBe(0);
    await expect(a.stop()).rejects.toBe(errors[0]);
  }, 60_000);

  it('a run of writes that outgrows one changelog message fails the task before anything of it is appended', async () => {
    const o = job();
    await produce(o, ['u1']);
    const errors: unknown[] = [];
    const p = kafkaPartition(utf8.encode('u1'), o.partitions);
    const a = await StreamTasks.start({
      connection: server.nc, application: o.application, input: { stream: o.input, partitions: o.partitions }, partitions: [p],
      stores: { blobs: {} }, commitEveryMs: 20,
      process(_m, ctx) { for (let i = 0; i < 12; i++) ctx.stores.blobs.put(new Uint8Array([i]), new Uint8Array(100 * 1024)); },
      onError: (err) => errors.push(err),
    });
    for (const deadline = Date.now() + 15_000; errors.length === 0;) {
      if (Date.now() > deadline) throw new Error('no failure');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((errors[0] as StrataError).code).toBe('VALUE_TOO_LARGE');
    expect(a.stats()[0].committedPosition).toBe(0);
    await a.stop().catch(() => {});
    const cl = await NatsChangelog.connect({ servers: [], connection: server.nc, stream: `${o.application}-changelog` });
    expect(await cl.lastSeq(p)).toBe(0); // nothing appended
    await cl.close();
  }, 60_000);

  it('group members share the partitions, and a member that leaves hands its partitions over with their state', async () => {
    const o = { ...job(), partitions: 4 };
    const first = await produce(o, usersOf(400, 40));
    const events: string[] = [];
    const member = (id: string) => counter(o, {
      group: { memberId: id, leaseMs: 600, standbys: 1 },
      onRebalance: (e) => events.push(`${id} ${e.type} ${e.partition}${e.promoted ? ' promoted' : ''}`),
    });
    const a = await member('a');
    const b = await member('b');
    const all = () => [...a.partitions, ...b.partitions].sort();
    for (const deadline = Date.now() + 15_000; !(a.partitions.length === 2 && b.partitions.length === 2);) {
      if (Date.now() > deadline) throw new Error(`not spread: a ${a.partitions}, b ${b.partitions}; ${events}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(all()).toEqual([0, 1, 2, 3]);
    const held = new Set(a.partitions);
    await a.stop(); // commits and hands its partitions back
    const more = await produce(o, usersOf(200, 40));
    for (const deadline = Date.now() + 15_000; b.partitions.length < 4;) {
      if (Date.now() > deadline) throw new Error(`b did not take a's partitions: ${b.partitions}; ${events}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await caughtUp(b, more.last.map((x, p) => Math.max(x, first.last[p])));
    const want = new Map(first.expected);
    for (const [u, n] of more.expected) want.set(u, (want.get(u) ?? 0) + n);
    expect(countsOf(b)).toEqual(want);
    // b followed a's partitions as standbys, so it promoted them instead of restoring.
    expect(events.filter((e) => e.startsWith('b adopted') && e.endsWith('promoted')).length).toBe(held.size);
    await b.stop();
  }, 60_000);

  it('a process whose changelog writer was fenced by another owner can take the partition back', async () => {
    // A group member paused past its lease loses its partitions; when the group gives one back
    // to it, its fence must start a new writer, not fail again with the old writer's error.
    const stream = `back${++jobNo}`;
    const a = await NatsChangelog.connect({ servers: [], connection: server.nc, stream });
    const b = await NatsChangelog.connect({ servers: [], connection: server.nc, stream });
    const rec = (seq: number): ChangeRecord => ({ partition: 0, seq, key: utf8.encode(`k${seq}`), value: utf8.encode('v') });
    await a.fence(0);
    await a.append([rec(1)]);
    await b.fence(0);
    await b.append([rec(2)]);
    await expect(a.append([rec(3)])).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining('fenced') });
    await a.fence(0); // rejected with that same error before the fix
    await a.append([rec(3)]);
    const seqs: number[] = [];
    for await (const r of a.read(0)) seqs.push(r.seq);
    expect(seqs).toEqual([1, 2, 3]);
    await b.close().catch(() => {});
    await a.close();
  });

  it('in a group, a task that failed is adopted afresh and the count stays exact (a transient failure heals)', async () => {
    const o = job();
    const { expected, last } = await produce(o, usersOf(300, 20));
    const errors: unknown[] = [];
    const events: string[] = [];
    let calls = 0;
    const a = await counter(o, {
      group: { memberId: 'solo', leaseMs: 600 },
      process(m, ctx) {
        const user = utf8.decode(m.key!);
        ctx.stores.counts.put(user, (ctx.stores.counts.get(user) ?? 0) + 1);
        if (++calls === 40) throw new Error('transient'); // once
      },
      onError: (err) => errors.push(err),
      onRebalance: (e) => events.push(`${e.type} ${e.partition}`),
    });
    await caughtUp(a, last, 20_000, true);
    expect(errors.map((e) => (e as Error).message)).toEqual(['transient']);
    expect(events.filter((e) => e.startsWith('lost')).length).toBe(1); // the failed task, dropped
    expect(countsOf(a)).toEqual(expected);
    await a.stop();
  }, 60_000);

  it('bad options are INVALID_ARGUMENT', async () => {
    const o = job();
    const base = { connection: server.nc, application: o.application, input: { stream: o.input, partitions: 2 }, stores, process() {} };
    const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: StrataError) => e.code);
    expect(await code(StreamTasks.start({ ...base, application: 'a.b' }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, stores: { 'a\0b': {} } }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, stores: { '': {} } }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, partitions: [2] }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, input: { stream: o.input, partitions: 0 } }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, storeOptions: { path: '/tmp/x' } as never }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, process: undefined as never }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, commitEveryMs: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, partitions: [0], group: {} }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, group: { leaseMs: 1000, heartbeatMs: 600 } }))).toBe('INVALID_ARGUMENT');
    expect(await code(StreamTasks.start({ ...base, group: { memberId: 'a b' } }))).toBe('INVALID_ARGUMENT');
    // A TTL would expire the input position with the rest: the next owner would start over.
    expect(await code(StreamTasks.start({ ...base, storeOptions: { ttlMs: 60_000 } }))).toBe('INVALID_ARGUMENT');
    // A misspelt input would leave every task waiting for nothing.
    expect(await code(StreamTasks.start({ ...base, input: { stream: 'no-such-input', partitions: 2 } }))).toBe('INVALID_ARGUMENT');
  });

  it('the NATS changelog never cuts an append that fits one message (a reader sees each commit whole)', async () => {
    const cl = await NatsChangelog.connect({ servers: [], connection: server.nc, stream: `cuts${++jobNo}`, maxMessageBytes: 8192 });
    const appends: number[][] = [];
    let seq = 0;
    let rnd = 12345;
    const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
    for (let a = 0; a < 60; a++) {
      const n = 1 + (next() % 12);
      const recs: ChangeRecord[] = [];
      for (let i = 0; i < n; i++) recs.push({ partition: 0, seq: ++seq, key: utf8.encode(`k${seq}`), value: new Uint8Array(next() % 600) });
      appends.push(recs.map((r) => r.seq));
      void cl.append(recs);
      if (next() % 3 === 0) await cl.flush();
    }
    await cl.flush();
    // Each message's records, in stream order.
    const jsm = await jetstreamManager(server.nc);
    const info = await jsm.streams.info(cl.stream);
    const firstOf = new Map(appends.map((a) => [a[0], a]));
    const lastOf = new Set(appends.map((a) => a[a.length - 1]));
    let messages = 0;
    for (let s = 1; s <= info.state.last_seq; s++) {
      const m = await jsm.streams.getMessage(cl.stream, { seq: s });
      if (m === null) continue;
      const msg = decodeMessage(m.data, 0, 'test');
      if (msg.kind !== 1 || msg.records.length === 0) continue;
      messages++;
      const seqs = msg.records.map((r) => r.seq);
      expect(firstOf.has(seqs[0]), `message ${s} starts inside an append (seq ${seqs[0]})`).toBe(true);
      expect(lastOf.has(seqs[seqs.length - 1]), `message ${s} ends inside an append (seq ${seqs[seqs.length - 1]})`).toBe(true);
    }
    expect(messages).toBeGreaterThan(1);
    expect(messages).toBeLessThan(appends.length); // appends were grouped, and still never cut
    await cl.close();
  }, 60_000);
});

describe.skipIf(!bin)('StreamTasks across processes on a 3-node cluster', () => {
  it('SIGKILLed workers (one mid-rebalance), a paused owner and a killed stream leader: every count exact, every running total published once', async () => {
    const built = existsSync(root + 'dist/nats.js') && readFileSync(root + 'dist/nats.js', 'utf8').includes('StreamTasks');
    expect(built, 'dist/nats.js has no StreamTasks: run npm run build').toBe(true);
    // The example starts its own 3-node cluster (so that it can kill the stream's leader).
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [root + 'examples/stream-counter/run.mjs', '--views', '4000', '--kills', '3'],
        { timeout: 170_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    console.log(stdout);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OK: every count exact and every running total published once, after [4-9] worker kills, 1 pause and 1 leader kill/m);
  }, 180_000);
});
