// A failing disk for tests: wraps node:fs so that one chosen call fails, the way a real disk
// fails. A test file installs it with
//
//   const faults = vi.hoisted(() => ({ plan: undefined, calls: 0, paused: false, hits: [] }) as FaultState);
//   vi.mock('node:fs', async (orig) => (await import('./support/faulty-fs.js')).wrapFs(await orig(), faults));
//
// and then arms a plan: the `at`-th call (counted over the operations the plan names, from
// when it is armed) fails. Modes:
//   fail  the call throws EIO and does nothing;
//   full  the disk fills at that call: a write stores the bytes that fit (half) and returns
//         short, and every write, fsync and create after it fails with ENOSPC;
//   tear  a write stores the first half of its bytes, then throws EIO (a torn write);
//   delay the call sleeps `delayMs` first and then succeeds (a slow disk: nothing may fail).
// `hits` records what was failed, so a test can tell a plan that met no call (then nothing
// may fail) from one that did.
import type * as NodeFs from 'node:fs';

export type FaultOp = 'write' | 'fsync' | 'open' | 'rename' | 'unlink' | 'read';
export type FaultMode = 'fail' | 'full' | 'tear' | 'delay';
export interface FaultPlan { ops: readonly FaultOp[]; at: number; mode: FaultMode; delayMs?: number }
export interface FaultState {
  plan: FaultPlan | undefined;
  /** Calls of the plan's operations since it was armed. */
  calls: number;
  /** The disk is full (mode 'full' has fired): writes, fsyncs and creates fail. */
  full?: boolean;
  /** No call is counted or failed (a test reading the store between steps). */
  paused: boolean;
  hits: string[];
}

export function arm(state: FaultState, plan: FaultPlan | undefined): void {
  state.plan = plan;
  state.calls = 0;
  state.full = false;
  state.paused = false;
  state.hits.length = 0;
}

const errno = (code: string, what: string) => Object.assign(new Error(`${code}: injected fault in ${what}`), { code });

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function wrapFs(real: typeof NodeFs, state: FaultState): typeof NodeFs {
  /** What the plan does to this call: undefined (go on), or the mode that fires now. */
  const decide = (op: FaultOp, name: string): FaultMode | undefined => {
    const plan = state.plan;
    if (plan === undefined || state.paused) return undefined;
    if (state.full && (op === 'write' || op === 'fsync' || op === 'open')) {
      state.hits.push(`${name} (full)`);
      throw errno('ENOSPC', name);
    }
    if (!plan.ops.includes(op)) return undefined;
    state.calls++;
    if (state.calls !== plan.at) return undefined;
    state.hits.push(`${name} #${plan.at} (${plan.mode})`);
    return plan.mode;
  };

  const simple = <F extends (...a: any[]) => any>(op: FaultOp, name: string, fn: F): F => ((...args: Parameters<F>) => {
    const mode = decide(op, name);
    if (mode === 'delay') sleep(state.plan!.delayMs ?? 5);
    else if (mode === 'full') { state.full = true; throw errno('ENOSPC', name); }
    else if (mode !== undefined) throw errno('EIO', name);
    return fn(...args);
  }) as F;

  /** writeSync(fd, buffer, offset?, length?, position?) and (fd, string, position?): a torn or
   *  filling write stores half of its bytes. */
  const writeSync = ((fd: number, buffer: any, ...rest: any[]) => {
    const mode = decide('write', 'writeSync');
    if (mode === undefined) return (real.writeSync as any)(fd, buffer, ...rest);
    if (mode === 'delay') { sleep(state.plan!.delayMs ?? 5); return (real.writeSync as any)(fd, buffer, ...rest); }
    if (mode === 'fail') throw errno('EIO', 'writeSync');
    if (typeof buffer === 'string') buffer = Buffer.from(buffer);
    const offset = typeof rest[0] === 'number' ? rest[0] : 0;
    const length = typeof rest[1] === 'number' ? rest[1] : buffer.byteLength - offset;
    const position = typeof rest[2] === 'number' ? rest[2] : null;
    const half = length >>> 1;
    if (half > 0) real.writeSync(fd, buffer, offset, half, position);
    if (mode === 'full') { state.full = true; return half; } // short: the caller's next write meets ENOSPC
    throw errno('EIO', 'writeSync (torn)');
  }) as typeof real.writeSync;

  const wrapped = {
    ...real,
    writeSync,
    writeFileSync: simple('write', 'writeFileSync', real.writeFileSync),
    fsyncSync: simple('fsync', 'fsyncSync', real.fsyncSync),
    fdatasyncSync: simple('fsync', 'fdatasyncSync', real.fdatasyncSync),
    openSync: ((path: any, flags?: any, ...rest: any[]) => {
      // Opening to read is a read; to create or write, an open.
      const reading = flags === undefined || flags === 'r';
      return simple(reading ? 'read' : 'open', 'openSync', real.openSync as any)(path, flags, ...rest);
    }) as typeof real.openSync,
    renameSync: simple('rename', 'renameSync', real.renameSync),
    linkSync: simple('rename', 'linkSync', real.linkSync),
    unlinkSync: simple('unlink', 'unlinkSync', real.unlinkSync),
    readSync: simple('read', 'readSync', real.readSync),
    readFileSync: simple('read', 'readFileSync', real.readFileSync),
  } as typeof real;
  return { ...wrapped, default: wrapped } as typeof real;
}
