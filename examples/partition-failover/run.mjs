// Partition failover across processes, end to end: two owners split 4 partitions of a
// page-view counter; owner A is SIGKILLed mid-write; owner B fences A's partitions, restores
// them from JetStream and carries on serving them. Checks that every write A had acknowledged
// survived (each write adds 1 to a counter, so a partition's counters sum to its last seq).
//   node examples/partition-failover/run.mjs                      # starts a nats-server itself
//   node examples/partition-failover/run.mjs --servers nats://127.0.0.1:4222
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNatsServer, startNats } from '../../scripts/nats-server.mjs';
import { startJsonChild } from '../../scripts/json-lines-child.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
let servers = argv.includes('--servers') ? argv[argv.indexOf('--servers') + 1] : undefined;
const stream = `views${Date.now().toString(36)}`;
const cleanup = [];

let cluster;
if (!servers) {
  const { bin, reason } = ensureNatsServer();
  if (!bin) { console.error(`nats-server unavailable: ${reason}; install it or pass --servers`); process.exit(2); }
  cluster = await startNats(bin, 1);
  servers = cluster.servers[0];
}

/** Starts an owner (scripts/json-lines-child.mjs: events, waitFor, send). */
function owner(name, own) {
  const o = startJsonChild(name, join(here, 'owner.mjs'), ['--servers', servers, '--stream', stream, '--partitions', '4', '--own', own, '--name', name]);
  cleanup.push(() => { if (o.child.exitCode === null) o.child.kill('SIGKILL'); });
  return o;
}

let failed = false;
try {
  const a = owner('A', '0,1');
  const b = owner('B', '2,3');
  await Promise.all([a.waitFor((e) => e.type === 'ready'), b.waitFor((e) => e.type === 'ready')]);
  await a.waitFor((e) => e.type === 'acked' && e.partition === 1 && e.seq >= 400);

  a.child.kill('SIGKILL');
  const killedAt = performance.now();
  await new Promise((r) => a.child.once('exit', r));
  const ackedByA = {};
  for (const e of a.events) if (e.type === 'acked') ackedByA[e.partition] = e.seq;

  b.send('adopt 0,1');
  const adopted = await Promise.all([0, 1].map((p) => b.waitFor((e) => e.type === 'owned' && e.partition === p)));
  const servingAt = await Promise.all([0, 1].map((p) => b.waitFor((e) => e.type === 'acked' && e.partition === p)));
  const failoverMs = Math.round(performance.now() - killedAt);
  await new Promise((r) => setTimeout(r, 300));
  b.send('exit');
  await b.waitFor((e) => e.type === 'closed');
  const reports = b.events.filter((e) => e.type === 'report').slice(-4);

  console.log('partition  owner  A acked seq  restored records  restore ms  final seq  counter sum');
  for (const p of [0, 1, 2, 3]) {
    const r = reports.find((x) => x.partition === p);
    const o = adopted.find((x) => x.partition === p);
    console.log(`${String(p).padStart(9)}  ${o ? 'A→B' : '  B'}  ${String(ackedByA[p] ?? '-').padStart(11)}  ${String(o?.records ?? '-').padStart(16)}  ${String(o?.ms ?? '-').padStart(10)}  ${String(r.seq).padStart(9)}  ${String(r.sum).padStart(11)}`);
    if (r.sum !== r.seq) { failed = true; console.log(`  partition ${p}: counters sum to ${r.sum}, expected one per write (${r.seq})`); }
    if (o && o.seq < ackedByA[p]) { failed = true; console.log(`  partition ${p}: restored seq ${o.seq} is below A's acknowledged ${ackedByA[p]}`); }
  }
  console.log(`failover: kill → B serving writes on A's partitions in ${failoverMs} ms (first acked write at ${servingAt.map((e) => e.seq).join(', ')})`);
  console.log(failed ? 'FAILED' : 'OK: every write A acknowledged survived, and B serves all 4 partitions');
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  for (const c of cleanup.reverse()) c();
  await cluster?.stop();
}
process.exit(failed ? 1 : 0);
