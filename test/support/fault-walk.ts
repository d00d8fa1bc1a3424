// What the fault-walk tests (test/*faults*.test.ts, fault-injection.test.ts) share beside their
// own vi.mock of node:fs (which vitest needs in each file): every kind of call a walk fails,
// and fresh directories removed, with the faults disarmed first, after the file's tests.
import { afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arm, type FaultOp, type FaultState } from './faulty-fs.js';

export const ALL_OPS: FaultOp[] = ['write', 'fsync', 'open', 'rename', 'unlink', 'read'];

/** Makes a fresh directory named from `prefix` at each call; all go after the file's tests. */
export function walkDirs(faults: FaultState, prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    arm(faults, undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
