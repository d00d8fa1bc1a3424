// The LOCK file (docs/FORMAT.md): one process, one open Store per directory. Created with
// exclusive create and holding the owner's pid; a LOCK whose pid is not a live process was
// left by a crash and is taken over. Within this process a registry catches a second open
// even though the pid is alive (it is ours).
import { openSync, writeSync, closeSync, readFileSync, unlinkSync, fsyncSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StrataError } from './errors.js';
import { io } from './io-error.js';

const heldHere = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Takes the directory's LOCK; returns the function that releases it. */
export function acquireLock(dir: string): () => void {
  const key = resolve(dir);
  const file = join(dir, 'LOCK');
  if (heldHere.has(key)) throw new StrataError('LOCKED', `${dir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return io('create', file, () => { throw err; });
      const pid = Number(io('read', file, () => readFileSync(file, 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new StrataError('LOCKED', `${dir} is open in process ${pid}`);
      }
      io('remove stale', file, () => unlinkSync(file)); // left by a process that died
      continue;
    }
    io('write', file, () => {
      try { writeSync(fd, String(process.pid)); fsyncSync(fd); } finally { closeSync(fd); }
    });
    heldHere.add(key);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      heldHere.delete(key);
      try { unlinkSync(file); } catch { /* gone already: nothing to release */ }
    };
  }
  throw new StrataError('LOCKED', `${dir}: another process keeps taking the lock`);
}
