// strata-kv on NATS JetStream (`node bench/nats.bench.mjs`): publish throughput (acknowledged
// and pipelined, history and compacted retention), restore throughput, and failover time,
// against nats-server processes it starts on 127.0.0.1 (a single node, and a 3-node cluster
// with an R3 stream). Uses the built package (npm run build). Prints tables; asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { Store, Standby, codecs } from '../dist/index.js';
import { NatsChangelog } from '../dist/nats.js';
import { parseArgs } from './lib/args.mjs';

const opts = parseArgs(process.argv.slice(2), {
  records: { type: 'int', default: Number(process.env.RECORDS ?? 200_000), min: 1000 },
}, { usage: 'node bench/nats.bench.mjs [--records N] (or RECORDS in the environment)' });
const RECORDS = opts.records;                              // writes per publish run
const VALUE_BYTES = 100;
const SYNC_WRITES = 2_000;                                 // flush after every write
const COMPACTED_KEYS = 10_000;                             // live keys of the compacted run

const value = 'x'.repeat(VALUE_BYTES);
const keyOf = (i) => `key-${String(i).padStart(10, '0')}`;

// ---- servers -----------------------------------------------------------------------------

const bin = ['nats-server', '/usr/sbin/nats-server'].find((b) => spawnSync(b, ['--version']).status === 0);
if (!bin) { console.error('nats-server not found (apt-get install -y nats-server)'); process.exit(2); }
const servers = [];
const freePort = () => new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });

async function startNodes(n) {
  const dir = mkdtempSync(join(os.tmpdir(), 'strata-bench-nats-'));
  const ports = await Promise.all(Array.from({ length: n }, freePort));
  const cports = n > 1 ? await Promise.all(Array.from({ length: n }, freePort)) : [];
  const nodes = ports.map((port, i) => {
    const conf = join(dir, `n${i}.conf`);
    const lines = [`server_name: n${i}`, 'host: 127.0.0.1', `port: ${port}`, `jetstream { store_dir: "${join(dir, `n${i}`)}" }`];
    if (n > 1) lines.push(`cluster { name: bench, listen: "127.0.0.1:${cports[i]}", routes: [${cports.filter((_, j) => j !== i).map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ')}] }`);
    writeFileSync(conf, lines.join('\n'));
    const child = spawn(bin, ['-c', conf], { stdio: 'ignore' });
    servers.push(child);
    return { name: `n${i}`, url: `nats://127.0.0.1:${port}`, child };
  });
  await new Promise((r) => setTimeout(r, 500));
  return { nodes, urls: nodes.map((x) => x.url), dir };
}
function stopAll() { for (const c of servers) if (c.exitCode === null) c.kill('SIGKILL'); }
process.on('exit', stopAll);

// ---- measurements --------------------------------------------------------------------------

const rows = [];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
let streamNo = 0;

async function publishRun(urls, label, options, { records = RECORDS, keys = records, flushEach = false } = {}) {
  const cl = await NatsChangelog.connect({ servers: urls, stream: `bench${++streamNo}`, ...options });
  // A sink view without close(): closing the store must leave the changelog readable.
  const sink = { append: (r) => cl.append(r), flush: () => cl.flush() };
  const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: sink });
  const t0 = performance.now();
  if (flushEach) {
    for (let i = 0; i < records; i++) { store.put(keyOf(i % keys), value); await store.flush(); }
  } else {
    // Bursts of 1,000 writes, as a stream task between commits; one flush at the end.
    for (let i = 0; i < records; i += 1000) {
      for (let j = i; j < Math.min(records, i + 1000); j++) store.put(keyOf(j % keys), value);
      await new Promise(setImmediate);
    }
    await store.flush();
  }
  const s = (performance.now() - t0) / 1000;
  const st = cl.stats();
  rows.push({ run: label, records: fmt(records), 'records/s': fmt(records / s), messages: fmt(st.messages), 'MB/s': (st.bytes / s / 1e6).toFixed(1) });
  await store.close();
  return cl;
}

async function restoreRun(cl, label) {
  const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
  const t0 = performance.now();
  const r = await store.restore(cl.read(0));
  const s = (performance.now() - t0) / 1000;
  rows.push({ run: label, records: fmt(r.records), 'records/s': fmt(r.records / s), messages: '', 'MB/s': (r.bytes / s / 1e6).toFixed(1) });
  await store.close();
}

async function failoverRun(urls, nodes) {
  const out = {};
  const writerLog = await NatsChangelog.connect({ servers: urls, stream: 'failover', replicas: 3, publishTimeoutMs: 1000 });
  const standbyLog = await NatsChangelog.connect({ servers: urls, stream: 'failover', replicas: 3 });
  const writer = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: writerLog });
  const standby = await Standby.follow({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, source: standbyLog, changelog: standbyLog, partition: 0 });
  for (let i = 0; i < 20_000; i++) writer.put(keyOf(i), value);
  await writer.flush();
  // (1) the owner process is lost: the standby is promoted and serves an acknowledged write.
  let t0 = performance.now();
  const promoted = await standby.promote();
  promoted.put('after', 'promotion');
  await promoted.flush();
  out.promote = performance.now() - t0;
  // (2) the stream leader node is SIGKILLed: time until a write is acknowledged again.
  const leader = (await standbyLog.jsm.streams.info('failover')).cluster.leader;
  nodes.find((n) => n.name === leader).child.kill('SIGKILL');
  t0 = performance.now();
  promoted.put('after', 'leader kill');
  await promoted.flush();
  out.leader = performance.now() - t0;
  await promoted.close();
  await writer.close().catch(() => {});
  return out;
}

// ---- run -----------------------------------------------------------------------------------

console.log(`strata-kv NATS benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, nats-server ${spawnSync(bin, ['--version']).stdout.toString().trim()}`);
console.log(`${VALUE_BYTES}-byte values, 15-byte keys; loopback; JetStream file storage\n`);
try {
  const single = await startNodes(1);
  const acked = await publishRun(single.urls, 'publish, acknowledged (R1)', { mode: 'acknowledged' });
  await publishRun(single.urls, 'publish, pipelined (R1)', { mode: 'pipelined' });
  await publishRun(single.urls, 'publish, flush after every write (R1)', {}, { records: SYNC_WRITES, flushEach: true });
  const compacted = await publishRun(single.urls, `publish, compacted, ${fmt(COMPACTED_KEYS)} keys (R1)`, { retention: 'compacted', mode: 'pipelined' }, { records: 50_000, keys: COMPACTED_KEYS });
  await restoreRun(acked, 'restore, history (R1)');
  await restoreRun(compacted, 'restore, compacted: live keys only (R1)');
  await acked.close();
  await compacted.close();

  const cluster = await startNodes(3);
  const r3 = await publishRun(cluster.urls, 'publish, acknowledged (R3)', { replicas: 3 });
  await publishRun(cluster.urls, 'publish, pipelined (R3)', { replicas: 3, mode: 'pipelined' });
  await restoreRun(r3, 'restore, history (R3)');
  await r3.close();
  const fo = await failoverRun(cluster.urls, cluster.nodes);
  console.table(rows);
  console.log('\nfailover (3 nodes, R3 stream, 20,000 records behind the standby\'s back… it follows live):');
  console.table([
    { event: 'owner lost → standby promoted, first write acknowledged', ms: Math.round(fo.promote) },
    { event: 'stream leader SIGKILLed → next write acknowledged (leader election)', ms: Math.round(fo.leader) },
  ]);
  rmSync(single.dir, { recursive: true, force: true });
  stopAll();
  rmSync(cluster.dir, { recursive: true, force: true });
} finally {
  stopAll();
}
process.exit(0);
