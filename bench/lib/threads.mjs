// CPU time per thread of this process, from /proc/self/task/<tid>/stat (Linux): what the
// main thread spent and what the other threads spent over a timed phase, so a store that
// moves work off its thread (strata-kv's background compaction) shows both halves.
//   main:   the task whose tid is process.pid (the JS main thread);
//   worker: tasks named `node-worker` (lib/name-workers.cjs names Node Worker threads when
//           the child is started with it; in strata-kv's processes that is the compaction
//           worker, the only Worker they start);
//   other:  every other task: V8's platform threads (GC, compiler), libuv's thread pool,
//           a native peer's own threads (rocksdb, classic-level compactions), and Workers
//           left unnamed.
// Counts are utime + stime in clock ticks (CLK_TCK, 10 ms at 100 Hz): a phase of under a
// second has coarse figures. A thread that ended during the phase is not in the "after"
// snapshot, so its time is lost; processMs (process.cpuUsage(), every thread that ever ran)
// shows what the split misses.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const WORKER_NAME = 'node-worker';

/** Clock ticks per second (getconf CLK_TCK; 100 when it cannot be asked). */
export const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** Every task of this process: tid → { comm, ticks } (empty off Linux). */
function tasks() {
  const out = new Map();
  let tids;
  try { tids = readdirSync('/proc/self/task'); } catch { return out; }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after "(comm)" (comm may hold spaces and parentheses): state is field 3,
      // utime and stime fields 14 and 15, so indexes 11 and 12 here.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(Number(tid), { comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** A snapshot to pass to cpuSince() at the end of the phase. */
export function cpuSnapshot() {
  return { tasks: tasks(), usage: process.cpuUsage() };
}

/**
 * CPU (user + system, ms) spent since `before` by the main thread, the Worker threads and
 * the other threads, and by the whole process (processMs). Threads born during the phase
 * count from zero. `available` is false off Linux (then only processMs means anything).
 */
export function cpuSince(before) {
  const after = tasks();
  const usage = process.cpuUsage(before.usage);
  const ms = (ticks) => (ticks * 1000) / CLK_TCK;
  let main = 0, worker = 0, other = 0, workers = 0, threads = 0;
  for (const [tid, { comm, ticks }] of after) {
    const was = before.tasks.get(tid);
    // A reused tid (another thread) starts from zero too.
    const d = was !== undefined && was.comm === comm && was.ticks <= ticks ? ticks - was.ticks : ticks;
    threads++;
    if (tid === process.pid) main += d;
    else if (comm === WORKER_NAME) { worker += d; workers++; }
    else other += d;
  }
  return {
    available: after.size > 0,
    mainMs: ms(main), workerMs: ms(worker), otherMs: ms(other),
    processMs: (usage.user + usage.system) / 1000,
    workerThreads: workers, threads, clkTck: CLK_TCK,
  };
}

/** "1,234 / 567 / 89": main / worker / other ms, rounded. */
export const formatCpu = (c) => (c ? [c.mainMs, c.workerMs, c.otherMs].map((x) => Math.round(x).toLocaleString('en-US')).join(' / ') : '—');

/** The field-wise median of objects of numbers (rounds of one measurement: cpuSince() or
 *  stats().background). A boolean field: its value when every round agrees, else "k of n"
 *  rounds true; any other field: the distinct values seen, joined. */
export function medianFields(list, median) {
  const xs = list.filter(Boolean);
  if (!xs.length) return undefined;
  const out = {};
  for (const k of new Set(xs.flatMap(Object.keys))) {
    const vs = xs.map((x) => x[k]).filter((v) => v !== undefined);
    if (vs.every((v) => typeof v === 'number')) out[k] = median(vs);
    else if (vs.every((v) => typeof v === 'boolean')) {
      const yes = vs.filter(Boolean).length;
      out[k] = yes === 0 || yes === vs.length ? vs[0] : `${yes} of ${vs.length}`;
    } else out[k] = [...new Set(vs.map(String))].join('; ');
  }
  return out;
}
