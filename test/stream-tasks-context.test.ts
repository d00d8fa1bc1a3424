// StreamTasks (strata-kv/nats) used the wrong way round, on one real nats-server: a `process`
// that keeps its context and writes or sends after it returned, a write through the stores
// given for queries, and stop() called from inside `process` or twice. Exactly once needs
// every write and output to belong to one input message (partition-task.ts, INVARIANT 4): a
// late write was committed with some later message or never (yet shown to queries), and a
// late send was published under another message's id, or after stop() with no commit at all.
// And send() of bad input: refused at the call, not by the publish the next commit awaits.
import { describe, it, expect } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { codecs, StrataError } from 'strata-kv';
import { StreamProducer, StreamTasks, type StreamTasksOptions, type TaskContext, type TaskStore } from 'strata-kv/nats';
import { natsForFile } from './support/nats-server.js';

const server = natsForFile('test/stream-tasks-context.test.ts');
const bin = server.bin;
let jobNo = 0;

const utf8 = codecs.utf8;
const stores = { counts: { keyCodec: codecs.utf8, valueCodec: codecs.uint32 } };
type Counts = typeof stores;
type Ctx = TaskContext<{ counts: TaskStore<string, number> }>;

/** A fresh job whose input holds `n` messages, all in partition 0 (one partition). */
async function job(n: number) {
  const no = ++jobNo;
  const o = { input: `ctxin${no}`, application: `ctxjob${no}`, output: `ctxout${no}` };
  const jsm = await jetstreamManager(server.nc);
  await jsm.streams.add({ name: o.output, subjects: [`${o.output}.>`] });
  const producer = await StreamProducer.connect({ connection: server.nc, stream: o.input, partitions: 1 });
  for (let i = 0; i < n; i++) await producer.send(utf8.encode(`u${i % 3}`), new Uint8Array(0));
  await producer.close();
  return o;
}

function start(o: Awaited<ReturnType<typeof job>>, process: StreamTasksOptions<Counts>['process'], extra: Partial<StreamTasksOptions<Counts>> = {}) {
  return StreamTasks.start<Counts>({ connection: server.nc, application: o.application, input: { stream: o.input, partitions: 1 }, stores, commitEveryMs: 10, process, ...extra });
}

async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !done();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function codeOf(fn: () => unknown): string {
  try { fn(); return 'ok'; } catch (err) { return err instanceof StrataError ? err.code : `not a StrataError: ${String(err)}`; }
}

const count = (ctx: Ctx, user: string) => ctx.stores.counts.put(user, (ctx.stores.counts.get(user) ?? 0) + 1);

describe.skipIf(!bin)('StreamTasks: a context works only while its process call runs', () => {
  it('writes and sends through a context after its process returned are refused, and change nothing', async () => {
    const o = await job(6);
    const contexts: Ctx[] = [];
    const late: string[] = [];
    const tasks = await start(o, async (m, ctx) => {
      count(ctx as Ctx, utf8.decode(m.key!));
      ctx.send(`${o.output}.totals`, new Uint8Array(1)); // in flight: taken
      await new Promise((r) => setImmediate(r)); // still in flight after an await
      ctx.stores.counts.put('awaited', 1);
      // The context of the message before, used while this one is processed: refused.
      if (contexts.length > 0) late.push(codeOf(() => contexts[contexts.length - 1].stores.counts.put('stale', 1)));
      contexts.push(ctx as Ctx);
    });
    await until(() => tasks.stats()[0].committedPosition === 6, 'the commit of all 6 messages');
    const before = Object.fromEntries(tasks.store('counts', 0).all());
    expect(before).toEqual({ u0: 2, u1: 2, u2: 2, awaited: 1 });
    expect(late).toEqual(Array(5).fill('INVALID_ARGUMENT'));

    const first = contexts[0];
    expect(codeOf(() => first.stores.counts.put('late', 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => first.stores.counts.delete('u0'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => first.stores.counts.merge('u0', 5, 'add'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => first.stores.counts.deleteRange('a', 'z'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => first.send(`${o.output}.totals`, new Uint8Array(1)))).toBe('INVALID_ARGUMENT');
    expect(first.stores.counts.get('u0')).toBe(2); // reads go on
    // The stores given for queries take no writes either.
    expect(codeOf(() => tasks.store('counts', 0).put('query', 1))).toBe('INVALID_ARGUMENT');
    expect(Object.fromEntries(tasks.store('counts', 0).all())).toEqual(before);
    await tasks.stop();
    expect(codeOf(() => first.stores.counts.put('late', 1))).toBe('CLOSED');
    expect(codeOf(() => first.send(`${o.output}.totals`, new Uint8Array(1)))).toBe('CLOSED');

    // Exactly the 6 outputs sent from inside process were published.
    const jsm = await jetstreamManager(server.nc);
    expect((await jsm.streams.info(o.output)).state.messages).toBe(6);
    // A restart restores what the queries showed: nothing was written that no commit holds.
    const again = await start(o, () => {});
    expect(Object.fromEntries(again.store('counts', 0).all())).toEqual(before);
    await again.stop();
  }, 30_000);

  it('stop() called again before the first has finished resolves only once the tasks are committed and stopped', async () => {
    const o = await job(6);
    const tasks = await start(o, (m, ctx) => count(ctx as Ctx, utf8.decode(m.key!)), { commitEveryMs: 60_000 });
    await until(() => tasks.stats()[0].position === 6, 'all 6 messages processed');
    expect(tasks.stats()[0].committedPosition).toBe(0); // nothing committed before stop()
    const first = tasks.stop();
    await tasks.stop(); // before the fix: resolved at once, the commit still waiting for its ack
    expect(tasks.stats()[0].committedPosition).toBe(6);
    await first;
  }, 30_000);

  it('stop() awaited inside process does not wait for that call to return: the message is committed and the tasks stop', async () => {
    const o = await job(6);
    let tasks: StreamTasks<Counts> | undefined;
    const seen: number[] = [];
    tasks = await start(o, async (m, ctx) => {
      count(ctx as Ctx, utf8.decode(m.key!));
      seen.push(m.position);
      if (m.position === 3) await tasks!.stop(); // before the fix: waited for this very call, forever
    });
    await until(() => seen.length === 3, 'the message that stops the tasks');
    const outcome = await Promise.race([
      tasks.stop().then(() => 'stopped'), // the same stop, awaited from outside
      new Promise((r) => setTimeout(r, 5000, 'hung')),
    ]);
    expect(outcome).toBe('stopped');
    expect(seen).toEqual([1, 2, 3]); // nothing after the message that stopped the tasks
    expect(tasks.stats()[0].committedPosition).toBe(3);
    const again = await start(o, () => {}); // resumes after 3: the counts of the first three
    expect(Object.fromEntries(again.store('counts', 0).all())).toEqual({ u0: 1, u1: 1, u2: 1 });
    await again.stop();
  }, 30_000);

  it('send() of a subject NATS cannot publish to, or of bad options, is INVALID_ARGUMENT at the call, and the task goes on', async () => {
    const o = await job(3);
    const out = `${o.output}.totals`;
    const one = new Uint8Array(1);
    const bad: [unknown, unknown, unknown][] = [
      ['', one, undefined], ['a b', one, undefined], [`${o.output}.*`, one, undefined], [`${o.output}.>`, one, undefined],
      [`${o.output}.`, one, undefined], [`.${o.output}`, one, undefined], [`${o.output}..x`, one, undefined], [5, one, undefined],
      [out, 'text', undefined], [out, one, 5], [out, one, { headers: null }], [out, one, { headers: 'abc' }],
      [out, one, { headers: { a: 5 } }], [out, one, { headers: { 'a b:': 'x' } }], [out, one, { headers: { a: 'x\r\ny' } }],
    ];
    const codes: string[] = [];
    const errors: unknown[] = [];
    const tasks = await start(o, (m, ctx) => {
      if (m.position === 1) for (const [subject, value, options] of bad) codes.push(codeOf(() => ctx.send(subject as string, value as Uint8Array, options as undefined)));
      ctx.send(out, one, { headers: { 'X-Ok': 'yes' } });
    }, { onError: (err) => errors.push(err) });
    await until(() => tasks.stats()[0].committedPosition === 3 || errors.length > 0, 'the commit of all 3 messages');
    expect(codes).toEqual(bad.map(() => 'INVALID_ARGUMENT')); // before the fix: 'ok' for the subjects (the task then failed), TypeErrors for options
    expect(errors).toEqual([]);
    await tasks.stop();
    const jsm = await jetstreamManager(server.nc);
    expect((await jsm.streams.info(o.output)).state.messages).toBe(3);
  }, 30_000);
});
