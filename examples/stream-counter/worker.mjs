// One worker of the page-view counter job: a StreamTasks process that counts views per user
// (input: stream `<input>`, keyed by user, partitioned by Kafka's partitioner) and publishes
// each user's running total on `<output>.<partition>`. Exactly once: kill it at any moment,
// start another for the same partitions, and no view is counted twice or lost.
// One JSON line out per event; commands on stdin:
//   report          print each partition's position and processed count
//   report counts   … and its counts
//   stop     commit, stop and exit
// Usage: node worker.mjs --servers URL[,URL] --input views --output totals --partitions 4
//          [--own 0,1 | --leaseMs 1500 --standbys 1] [--replicas 3]
// With --own the worker runs those partitions; otherwise it joins the job's group and runs
// the partitions the group gives it (they move when a worker dies or joins).
import { codecs } from 'strata-kv';
import { StreamTasks } from 'strata-kv/nats';
import { createInterface } from 'node:readline';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const name = args.name ?? `worker-${process.pid}`;
const out = (event) => process.stdout.write(JSON.stringify({ worker: name, ...event }) + '\n');
const partitions = Number(args.partitions ?? 4);
const own = args.own ? args.own.split(',').map(Number) : undefined;
const output = args.output ?? 'totals';

const tasks = await StreamTasks.start({
  servers: args.servers.split(','),
  application: args.application ?? 'pageviews',
  input: { stream: args.input ?? 'views', partitions },
  partitions: own,
  group: own ? undefined : { memberId: name, leaseMs: Number(args.leaseMs ?? 3000), standbys: Number(args.standbys ?? 0) },
  stores: { counts: { keyCodec: codecs.utf8, valueCodec: codecs.uint32 } },
  changelog: { replicas: Number(args.replicas ?? 1) },
  commitEveryMs: Number(args.commitEveryMs ?? 50),
  process(message, { stores, send, partition }) {
    const user = codecs.utf8.decode(message.key);
    const views = (stores.counts.get(user) ?? 0) + 1;
    stores.counts.put(user, views);
    send(`${output}.${partition}`, codecs.json.encode({ user, views, position: message.position }));
  },
  onRebalance(event) {
    out({ at: Date.now(), ...event });
    // DEBUG_TASKS=1 shows partitions moving on stderr while run.mjs drives the workers.
    if (process.env.DEBUG_TASKS) process.stderr.write(`${name} ${JSON.stringify(event)}\n`);
  },
  onError(error, partition) {
    out({ type: 'failed', partition, code: error?.code, message: String(error?.message ?? error) });
  },
});
out({ type: 'started', member: tasks.memberId, partitions: tasks.partitions });

function report(withCounts) {
  for (const s of tasks.stats()) {
    const counts = withCounts && s.failure === undefined ? Object.fromEntries(tasks.store('counts', s.partition).all()) : undefined;
    out({ type: 'report', partition: s.partition, position: s.position, committed: s.committedPosition, processed: s.processed, failed: s.failure !== undefined, counts });
  }
  out({ type: 'reported' });
}

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = line.trim();
  if (cmd === 'report' || cmd === 'report counts') report(cmd === 'report counts');
  else if (cmd === 'stop') break;
}
try {
  await tasks.stop();
  out({ type: 'stopped' });
} catch (err) {
  out({ type: 'stopped', error: String(err?.message ?? err) });
}
process.exit(0);
