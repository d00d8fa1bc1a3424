// One owner process of a partitioned layout: it owns some partitions of a page-view counter
// (one Store per partition, each with the NATS changelog), restores them from JetStream at
// start, and counts views of users whose key hashes (Kafka's murmur2 partitioner) to its
// partitions. Commands on stdin, one JSON line out per event:
//   adopt 0,1   fence, restore and start serving more partitions (an orphan's)
//   report      print each owned partition's last seq and the sum of its counters
//   exit        flush, close, exit
// Usage: node owner.mjs --servers nats://127.0.0.1:4222 --stream views --partitions 4 --own 0,1
import { Store, codecs, kafkaPartition } from 'strata-kv';
import { NatsChangelog } from 'strata-kv/nats';
import { createInterface } from 'node:readline';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const PARTITIONS = Number(args.partitions ?? 4);
const name = args.name ?? `owner-${process.pid}`;
const out = (event) => process.stdout.write(JSON.stringify({ owner: name, ...event }) + '\n');

const changelog = await NatsChangelog.connect({
  servers: args.servers.split(','), stream: args.stream ?? 'views', replicas: Number(args.replicas ?? 1), name,
});

/** Users whose key lands in partition p, as Kafka's default partitioner would place them. */
const usersOf = Array.from({ length: PARTITIONS }, () => []);
for (let u = 0; usersOf.some((l) => l.length < 50); u++) {
  const user = `user-${u}`;
  const p = kafkaPartition(codecs.utf8.encode(user), PARTITIONS);
  if (usersOf[p].length < 50) usersOf[p].push(user);
}

const stores = new Map();
async function own(p) {
  const t0 = performance.now();
  await changelog.fence(p); // from here on, the previous owner's late writes are invisible
  // One changelog for every partition: each Store gets a view that does not close it.
  const sink = { append: (records) => changelog.append(records), flush: () => changelog.flush() };
  const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.uint32, changelog: sink, partition: p });
  const { records } = await store.restore(changelog.read(p));
  stores.set(p, store);
  out({ type: 'owned', partition: p, records, seq: store.stats().sequence, ms: Math.round(performance.now() - t0) });
}

for (const p of (args.own ?? '').split(',').filter(Boolean).map(Number)) await own(p);

// The job: each tick counts 20 page views in every owned partition, then commits (flush =
// acknowledged by JetStream) and reports the acknowledged seq.
let stopping = false;
let tick = 0;
async function work() {
  while (!stopping) {
    tick++;
    for (const [p, store] of stores) {
      for (let i = 0; i < 20; i++) {
        const user = usersOf[p][(tick * 7 + i) % usersOf[p].length];
        store.put(user, (store.get(user) ?? 0) + 1);
      }
    }
    await Promise.all([...stores.values()].map((s) => s.flush()));
    for (const [p, store] of stores) out({ type: 'acked', partition: p, seq: store.stats().sequence });
    await new Promise((r) => setTimeout(r, 10));
  }
}
const working = work();

function report() {
  for (const [p, store] of stores) {
    let sum = 0;
    for (const [, n] of store.all()) sum += n;
    out({ type: 'report', partition: p, seq: store.stats().sequence, sum });
  }
}

out({ type: 'ready', partitions: [...stores.keys()] });
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'adopt') { for (const p of arg.split(',').map(Number)) await own(p); }
  else if (cmd === 'report') report();
  else if (cmd === 'exit') break;
}
stopping = true;
await working;
report();
for (const s of stores.values()) await s.close();
await changelog.close();
out({ type: 'closed' });
