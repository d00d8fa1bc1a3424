// StreamTasks end to end (`npm run bench:streams`): the page-view counter of
// examples/stream-counter (count per user, publish each running total) on nats-server processes
// it starts on 127.0.0.1 (a 3-node cluster, input, changelog and output R3; --replicas 1: one
// node). Measures, in one run:
//   - records/s processed with 1, 2 and 3 worker processes in one group, from the first
//     partition adopted to the last input message processed (the input is published first);
//   - failover: a worker SIGKILLed → its partitions adopted elsewhere, with and without
//     standbys (the lease, 3000 ms by default, is most of it);
//   - restore: one worker adopting every partition of a finished job restores its changelog:
//     records/s, and what 1M records take at that rate.
// Uses the built package (npm run build). Prints tables; asserts nothing.
//   node bench/streams.bench.mjs [--views 200000] [--workers 1,2,3] [--replicas 3] [--lease-ms 3000]
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { codecs } from '../dist/index.js';
import { StreamProducer } from '../dist/nats.js';
import { ensureNatsServer, startNats } from '../scripts/nats-server.mjs';
import { startJsonChild } from '../scripts/json-lines-child.mjs';
import { parseArgs } from './lib/args.mjs';

const opts = parseArgs(process.argv.slice(2), {
  views: { type: 'int', default: 200_000, min: 1000 },
  workers: { type: 'ints', default: [1, 2, 3], min: 1 },
  replicas: { type: 'int', default: 3, min: 1 },
  leaseMs: { type: 'int', default: 3000, min: 300 },
}, { usage: 'node bench/streams.bench.mjs [--views N] [--workers 1,2,3] [--replicas 3|1] [--lease-ms 3000]' });
const PARTITIONS = 6;
const USERS = 10_000;
const worker = fileURLToPath(new URL('../examples/stream-counter/worker.mjs', import.meta.url));
const tag = Date.now().toString(36);
const input = `bench-views-${tag}`;
const output = `bench-totals-${tag}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The input's last position per partition. */
const lastPosition = new Array(PARTITIONS).fill(0);

const { bin, reason } = ensureNatsServer();
if (!bin) { console.error(`nats-server unavailable: ${reason}`); process.exit(2); }
const cluster = await startNats(bin, opts.replicas >= 3 ? 3 : 1);
const servers = cluster.servers.join(',');
const children = new Set();
try {
  await main();
} finally {
  for (const c of children) c.child.kill('SIGKILL');
  await cluster.stop();
}

async function main() {
  const nc = await connect({ servers: cluster.servers, maxReconnectAttempts: -1 });
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  for (let i = 0; ; i++) {
    try { await jsm.streams.add({ name: output, subjects: [`${output}.>`], num_replicas: opts.replicas }); break; } catch (err) { if (i > 100) throw err; await sleep(100); }
  }
  const producer = await StreamProducer.connect({ connection: nc, stream: input, partitions: PARTITIONS, replicas: opts.replicas });
  const t0 = performance.now();
  for (let sent = 0; sent < opts.views;) {
    const batch = [];
    for (let i = 0; i < 1000 && sent < opts.views; i++, sent++) {
      batch.push(producer.send(codecs.utf8.encode(`user-${(sent * 7919) % USERS}`), new Uint8Array(0)).then(({ partition, position }) => {
        lastPosition[partition] = Math.max(lastPosition[partition], position);
      }));
    }
    await Promise.all(batch);
  }
  const produceMs = performance.now() - t0;
  console.log(`input: ${opts.views} views published in ${Math.round(produceMs)} ms (${Math.round(opts.views / produceMs * 1000)}/s), ${PARTITIONS} partitions, replicas ${opts.replicas}`);

  console.log('\n| workers | records/s end to end | wall ms | leases lost (a busy member missed renewals) |');
  console.log('|---|---|---|---|');
  let lastApp;
  for (const n of opts.workers) {
    const app = `bench-${n}-${tag}`;
    lastApp = app;
    const ws = await Promise.all(Array.from({ length: n }, (_, i) => start(app, `w${n}-${i}`)));
    const firstAdopt = Math.min(...(await Promise.all(ws.map((w) => w.waitFor((e) => e.type === 'adopted', 60_000)))).map((e) => e.at));
    await untilProcessed(ws);
    const wallMs = Date.now() - firstAdopt;
    const lost = ws.reduce((s, w) => s + w.events.filter((e) => e.type === 'lost').length, 0);
    console.log(`| ${n} | ${Math.round(opts.views / wallMs * 1000)} | ${wallMs} | ${lost} |`);
    if (n === opts.workers[opts.workers.length - 1] && n >= 2) await failovers(app, ws);
    for (const w of ws) await w.stop();
  }

  // Restore: one fresh worker takes every partition of the last job over.
  const solo = await start(lastApp, 'restorer');
  for (const deadline = Date.now() + 120_000; solo.events.filter((e) => e.type === 'adopted').length < PARTITIONS; await sleep(20)) {
    if (Date.now() > deadline) throw new Error('the restorer did not adopt every partition');
  }
  const adopted = solo.events.filter((e) => e.type === 'adopted');
  const records = adopted.reduce((s, e) => s + e.restoredRecords, 0);
  const ms = adopted.reduce((s, e) => s + e.ms, 0);
  console.log(`\nrestore (fence + restore of each partition, one after another's sum): ${records} changelog records in ${Math.round(ms)} ms ` +
    `= ${Math.round(records / ms * 1000)} records/s; 1M records at that rate: ${(1e6 / (records / ms) / 1000).toFixed(1)} s`);
  await solo.stop();
  await producer.close();
  await nc.close();
}

/** Kills one worker of a running group, with and without standbys, and times the takeovers. */
async function failovers(app, ws) {
  console.log(`\nfailover (lease ${opts.leaseMs} ms): SIGKILL → every partition of the killed worker adopted elsewhere`);
  console.log('| standbys | partitions moved | median ms | max ms | takeover (fence+restore or promote) median ms |');
  console.log('|---|---|---|---|---|');
  for (const standbys of [0, 1]) {
    const group = standbys === 0 ? ws : await Promise.all(ws.map((_, i) => start(`${app}-sb`, `s${i}`, standbys)));
    if (standbys === 1) {
      // a fresh group on the same input with standbys: let it catch up, and its standbys follow
      await untilProcessed(group);
      await sleep(opts.leaseMs);
    }
    const victim = group[0];
    const owned = (await victim.report()).map((r) => r.partition);
    const at = Date.now();
    victim.child.kill('SIGKILL');
    children.delete(victim);
    const adoptions = await Promise.all(owned.map((p) => Promise.race(group.slice(1).map((w) => w.waitFor((e) => e.type === 'adopted' && e.partition === p && e.at >= at, 60_000)))));
    const ms = adoptions.map((e) => e.at - at).sort((a, b) => a - b);
    const take = adoptions.map((e) => e.ms).sort((a, b) => a - b);
    console.log(`| ${standbys} | ${owned.length} | ${ms[ms.length >> 1]} | ${ms[ms.length - 1]} | ${Math.round(take[take.length >> 1])} (${adoptions.filter((e) => e.promoted).length} promoted) |`);
    if (standbys === 1) for (const w of group.slice(1)) await w.stop();
    else ws.splice(0, 1);
  }
}

/** Waits until the workers, together, have processed every partition to its end; fails naming
 *  their state after 30 s without progress. */
async function untilProcessed(ws) {
  let last = -1, since = Date.now();
  for (;;) {
    const reports = (await Promise.all(ws.map((w) => w.report()))).flat();
    const at = new Array(PARTITIONS).fill(0);
    for (const r of reports) at[r.partition] = Math.max(at[r.partition], r.position);
    if (at.every((pos, p) => pos >= lastPosition[p])) return;
    const done = at.reduce((a, b) => a + b, 0);
    if (done !== last) { last = done; since = Date.now(); }
    if (Date.now() - since > 30_000) throw new Error(`no progress for 30 s: ${JSON.stringify(reports)} vs ${JSON.stringify(lastPosition)}`);
    await sleep(50);
  }
}

function start(application, name, standbys = 0) {
  const w = startJsonChild(name, worker, ['--servers', servers, '--input', input, '--output', output, '--application', application,
    '--partitions', String(PARTITIONS), '--leaseMs', String(opts.leaseMs), '--standbys', String(standbys), '--replicas', String(opts.replicas), '--name', name]);
  w.report = async () => (await w.ask('report', (e) => e.type === 'reported')).filter((e) => e.type === 'report');
  w.stop = async () => {
    w.send('stop');
    await w.waitFor((e) => e.type === 'stopped', 30_000);
    children.delete(w);
  };
  children.add(w);
  return w.waitFor((e) => e.type === 'started', 30_000).then(() => w);
}
