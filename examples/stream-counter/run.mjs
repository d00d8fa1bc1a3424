// The page-view counter as a stream job, exactly once under kills. A producer publishes page
// views keyed by user (Kafka's partitioner) to a 6-partition input; three worker processes
// (worker.mjs, StreamTasks in one group) count views per user and publish each user's running
// total. While the views flow, workers are SIGKILLed at random (the group moves their
// partitions to the survivors when their leases run out) and new ones started (the group
// spreads the partitions again), one worker is killed just as it adopts a dead worker's
// partition, one is paused (SIGSTOP) past its lease, then resumed (it must give its
// partitions up without committing), and the nats-server leading the changelog stream is
// SIGKILLed and restarted. At the end the counts are checked:
//   - every user's count equals the number of views the producer sent for it;
//   - the output holds each user's running totals 1, 2, …, n, each exactly once.
// Starts a 3-node nats-server cluster on loopback itself (input, changelog and output R3).
//   npm run example:stream
//   node examples/stream-counter/run.mjs --views 20000 --kills 4 [--servers URL,URL,URL]
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { codecs } from 'strata-kv';
import { StreamProducer } from 'strata-kv/nats';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import { ensureNatsServer, startNats } from '../../scripts/nats-server.mjs';
import { startJsonChild } from '../../scripts/json-lines-child.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const arg = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const VIEWS = Number(arg('views', 20_000));
const KILLS = Number(arg('kills', 4));
const LEASE_MS = Number(arg('leaseMs', 1500));
const STANDBYS = Number(arg('standbys', 1));
const PARTITIONS = 6;
const WORKERS = 3;
const USERS = 300;
const tag = Date.now().toString(36);
const names = { input: `views-${tag}`, output: `totals-${tag}`, application: `pageviews-${tag}` };
const log = (line) => process.stdout.write(line + '\n');

let cluster;
let servers = arg('servers');
if (!servers) {
  const { bin, reason } = ensureNatsServer();
  if (!bin) { console.error(`nats-server unavailable: ${reason}; install it or pass --servers`); process.exit(2); }
  cluster = await startNats(bin, 3);
  servers = cluster.servers.join(',');
}
const replicas = Number(arg('replicas', servers.split(',').length >= 3 ? 3 : 1));

const workers = new Set();
let workerNo = 0;
/** partition → the worker that adopted it last (until it releases or loses it). */
const owners = new Map();
/** Partitions orphaned by a SIGKILL, waiting for another worker to adopt them: p → kill time. */
const orphaned = new Map();
/** SIGKILL → adopted elsewhere (restored, processing), ms; and restore sizes. */
const failovers = [];
let failure;
try {
  await main();
} catch (err) {
  failure = err;
} finally {
  for (const w of workers) w.child.kill('SIGKILL');
  await cluster?.stop();
}
if (failure) { console.error(failure); process.exit(1); }

async function main() {
  const nc = await connect({ servers: servers.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  await addStreamRetrying(jsm, { name: names.output, subjects: [`${names.output}.>`], num_replicas: replicas, duplicate_window: 120e9 });
  const producer = await StreamProducer.connect({ connection: nc, stream: names.input, partitions: PARTITIONS, replicas });

  const slots = await Promise.all(Array.from({ length: WORKERS }, () => startWorker()));

  const expected = new Map();
  const lastPosition = new Array(PARTITIONS).fill(0);
  let sent = 0;
  /** Sends one view, retried under the same message id through leader elections (stored once). */
  const send = async (user, id) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const { partition, position } = await producer.send(codecs.utf8.encode(user), new Uint8Array(0), { msgId: id });
        lastPosition[partition] = Math.max(lastPosition[partition], position);
        return;
      } catch (err) {
        if (attempt >= 100) throw err;
        await sleep(100);
      }
    }
  };
  const produce = (async () => {
    while (sent < VIEWS) {
      const batch = [];
      for (let i = 0; i < 200 && sent < VIEWS; i++, sent++) {
        const user = `user-${Math.floor(Math.random() * USERS)}`;
        expected.set(user, (expected.get(user) ?? 0) + 1);
        batch.push(send(user, `${tag}-${sent}`));
      }
      await Promise.all(batch);
      await sleep(5);
    }
  })();

  // Chaos, in random order while the views flow: KILLS SIGKILLs of random workers (each
  // replaced by a new worker, which joins the group); one kill in the middle of a rebalance
  // (the worker that has just adopted a killed worker's partition); one worker paused past its
  // lease, then resumed; and, when this run started the cluster, a SIGKILL of the nats-server
  // that leads the changelog stream (restarted 2 s later).
  const actions = [...Array(KILLS).fill('kill'), 'rebalance-kill', 'pause', ...(cluster ? ['leader-kill'] : [])]
    .map((a) => [Math.random(), a]).sort((x, y) => x[0] - y[0]).map(([, a]) => a);
  let kills = 0, pauses = 0, leaderKills = 0;
  const t0 = Date.now();
  for (const action of actions) {
    await sleep(200 + Math.random() * 600);
    const slot = Math.floor(Math.random() * WORKERS);
    const victim = slots[slot];
    if (action === 'pause') {
      // A paused member (a long GC, a frozen VM): its leases run out and the others take its
      // partitions over; resumed, its renewals fail and it drops them, committing nothing.
      victim.child.kill('SIGSTOP');
      await sleep(LEASE_MS * 2);
      victim.child.kill('SIGCONT');
      pauses++;
    } else if (action === 'leader-kill') {
      const info = await jsm.streams.info(`${names.application}-changelog`);
      const leader = cluster.nodes.find((n) => n.name === info.cluster?.leader);
      if (leader) {
        await cluster.kill(leader);
        leaderKills++;
        await sleep(2000);
        await cluster.restart(leader);
      }
    } else {
      const held = [...owners].filter(([, w]) => w === victim).map(([p]) => p);
      await stopHard(victim);
      slots[slot] = await startWorker();
      kills++;
      if (action === 'rebalance-kill' && held.length > 0) {
        // Kill whoever adopts the first of the victim's partitions, as soon as it has.
        const taker = await Promise.race(slots.map((w) => w.waitFor((e) => e.type === 'adopted' && held.includes(e.partition), 30_000, w.events.length).then(() => w)));
        const i = slots.indexOf(taker);
        await stopHard(taker);
        slots[i] = await startWorker();
        kills++;
      }
    }
  }
  await produce;
  log(`produced ${VIEWS} views with chaos in ${Date.now() - t0} ms`);

  // Wait until the live workers, together, run every partition once, each processed to its end.
  const counts = new Map();
  for (const deadline = Date.now() + 60_000; ;) {
    const reports = (await Promise.all(slots.map((w) => w.report()))).flat();
    const byPartition = new Map();
    for (const r of reports) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
    const done = byPartition.size === PARTITIONS && [...byPartition.values()].every((rs) => rs.length === 1 && !rs[0].failed && rs[0].position >= lastPosition[rs[0].partition]);
    if (done) {
      counts.clear();
      for (const r of reports) for (const [u, n] of Object.entries(r.counts)) counts.set(u, n);
      break;
    }
    if (Date.now() > deadline) throw new Error(`not caught up: ${JSON.stringify(reports.map(({ counts: _, ...r }) => r))} vs ${JSON.stringify(lastPosition)}`);
    await sleep(200);
  }
  for (const w of slots) { w.send('stop'); await w.waitFor((e) => e.type === 'stopped', 20_000); }

  // Check the counts, then the outputs.
  let wrong = 0;
  for (const [user, n] of expected) if (counts.get(user) !== n) { wrong++; if (wrong <= 5) log(`WRONG count ${user}: ${counts.get(user)} ≠ ${n}`); }
  const outputs = await readAll(nc, names.output);
  // Per user, the running totals published must be 1, 2, …, n, each exactly once. (In stream
  // order they may interleave around a take-over: a paused owner that resumes publishes its
  // outputs until its next commit is refused, and the new owner publishes the same ones, with
  // the same ids, which JetStream drops as duplicates.)
  const seen = new Map();
  for (const o of outputs) {
    const { user, views } = JSON.parse(o);
    if (!seen.has(user)) seen.set(user, []);
    seen.get(user).push(views);
  }
  let outputErrors = 0;
  for (const [user, n] of expected) {
    const got = (seen.get(user) ?? []).sort((a, b) => a - b);
    const ok = got.length === n && got.every((v, i) => v === i + 1);
    if (!ok) { outputErrors++; if (outputErrors <= 5) log(`WRONG outputs ${user}: ${got.length} totals for ${n} views (${got.slice(0, 12).join(',')}…)`); }
  }
  await producer.close();
  await nc.close();

  log(`views ${VIEWS} for ${expected.size} users in ${PARTITIONS} partitions; ${WORKERS} workers; replicas ${replicas}; standbys ${STANDBYS}`);
  log(`chaos: ${kills} worker SIGKILLs (one in the middle of a rebalance), ${pauses} worker paused for ${LEASE_MS * 2} ms (lease ${LEASE_MS} ms), ` +
    `${leaderKills} SIGKILL of the changelog stream's leader`);
  log(`outputs: ${outputs.length} messages for ${VIEWS} views`);
  if (failovers.length > 0) {
    const ms = failovers.map((f) => f.ms).sort((a, b) => a - b);
    const restore = failovers.map((f) => f.restoreMs).sort((a, b) => a - b);
    log(`failover, SIGKILL → partition adopted by another worker (lease ${LEASE_MS} ms): ${ms.length} partitions, ` +
      `median ${ms[ms.length >> 1]} ms, max ${ms[ms.length - 1]} ms; of which the takeover (fence + restore, or a standby's promotion) ` +
      `median ${Math.round(restore[restore.length >> 1])} ms; ${failovers.filter((f) => f.promoted).length} promoted from standbys, ` +
      `${failovers.filter((f) => !f.promoted).length} restored (${Math.round(failovers.reduce((a, f) => a + f.records, 0) / Math.max(1, failovers.filter((f) => !f.promoted).length))} records on average)`);
  }
  if (wrong > 0 || outputErrors > 0 || outputs.length !== VIEWS) throw new Error(`FAILED: ${wrong} wrong counts, ${outputErrors} output errors, ${outputs.length} outputs for ${VIEWS} views`);
  log(`OK: every count exact and every running total published once, after ${kills} worker kills, ${pauses} pause and ${leaderKills} leader kill`);
}

function startWorker() {
  const name = `w${++workerNo}`;
  const w = startJsonChild(name, join(here, 'worker.mjs'), ['--servers', servers, '--input', names.input, '--output', names.output,
    '--application', names.application, '--partitions', String(PARTITIONS), '--leaseMs', String(LEASE_MS), '--standbys', String(STANDBYS),
    '--replicas', String(replicas), '--name', name], { onEvent: track });
  /** The worker's reports, one per partition it runs, with its counts. */
  w.report = async () => (await w.ask('report counts', (e) => e.type === 'reported', 10_000)).filter((e) => e.type === 'report');
  workers.add(w);
  return w.waitFor((e) => e.type === 'started', 30_000).then(() => w);
}

/** Keeps `owners` and the failover times up to date from a worker's rebalance events. */
function track(e, w) {
  if (e.type === 'adopted') {
    owners.set(e.partition, w);
    if (orphaned.has(e.partition)) { failovers.push({ ms: e.at - orphaned.get(e.partition), restoreMs: e.ms, records: e.restoredRecords, promoted: e.promoted }); orphaned.delete(e.partition); }
  } else if ((e.type === 'released' || e.type === 'lost') && owners.get(e.partition) === w) {
    owners.delete(e.partition);
  }
}

async function stopHard(w) {
  const at = Date.now();
  for (const [p, owner] of owners) if (owner === w) { orphaned.set(p, at); owners.delete(p); }
  w.child.kill('SIGKILL');
  await w.exited;
  workers.delete(w);
}

async function addStreamRetrying(jsm, config) {
  for (let i = 0; ; i++) {
    try { return await jsm.streams.add(config); } catch (err) { if (i > 100) throw err; await sleep(100); }
  }
}

async function readAll(nc, stream) {
  const js = jetstream(nc);
  const info = await (await jetstreamManager(nc, { checkAPI: false })).streams.info(stream);
  const out = [];
  if (info.state.messages === 0) return out;
  const consumer = await js.consumers.get(stream);
  const msgs = await consumer.consume();
  for await (const m of msgs) {
    out.push(codecs.utf8.decode(m.data));
    if (m.seq >= info.state.last_seq) break;
  }
  return out;
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
