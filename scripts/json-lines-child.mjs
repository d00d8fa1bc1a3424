// A Node child process that speaks JSON lines: it prints one event object per stdout line and
// reads commands from stdin, one per line. The examples and benchmarks that run several
// processes (owners, workers) drive them through this: `events` keeps every event in order,
// `waitFor` resolves on the first matching one (past or future), `send` writes a command.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Starts `node script ...args`. `onEvent(e, child)` sees each event as it arrives (before any
 * waiter). A line that is not JSON is printed as `name: line` and otherwise ignored.
 * @param {string} name  shown in timeouts and stray output
 * @param {string} script
 * @param {string[]} args
 * @param {{ onEvent?: (e: any, c: any) => void }} [options]
 */
export function startJsonChild(name, script, args, { onEvent } = {}) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const events = [];
  const waiters = [];
  const c = {
    name, child, events,
    exited: new Promise((r) => child.once('exit', r)),
    /** Resolves with the first event (index ≥ `from`) for which pred(event, index) holds. */
    waitFor(pred, ms = 20_000, from = 0) {
      for (let i = from; i < events.length; i++) if (pred(events[i], i)) return Promise.resolve(events[i]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${name} (pid ${child.pid}): no matching event in ${ms} ms`)), ms);
        waiters.push({ pred, from, resolve: (e) => { clearTimeout(t); resolve(e); } });
      });
    },
    send(command) { child.stdin.write(`${command}\n`); },
    /** Sends `command` and resolves with the events it printed up to the first that `last` matches. */
    async ask(command, last, ms = 20_000) {
      const from = events.length;
      c.send(command);
      const end = events.indexOf(await c.waitFor((e) => last(e), ms, from), from);
      return events.slice(from, end + 1);
    },
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e;
    try { e = JSON.parse(line); } catch { process.stdout.write(`${name}: ${line}\n`); return; }
    events.push(e);
    onEvent?.(e, c);
    const i = events.length - 1;
    for (const w of [...waiters]) if (i >= w.from && w.pred(e, i)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e); }
  });
  return c;
}
