// The LOCK file (docs/FORMAT.md "LOCK", docs/CHANGELOG-FORMAT.md): one open Store or
// FileChangelog per directory, across processes and within one. The one implementation of
// the concept; both use it.
//
// Invariants:
//   (1) A LOCK is never seen half-written: its content goes to a private file first, which is
//       hard-linked into place (link fails with EEXIST if a LOCK exists).
//   (2) A LOCK is taken over only when its holder is provably gone: its pid is not a live
//       process, or (Linux) the process with that pid started at another time than the one
//       that wrote it. A LOCK naming this very process is LOCKED, even when no registry entry
//       explains it (another path to the directory, a second copy of this module, another
//       worker thread): nothing proves it is not held, unless its token is one this
//       process released and could not remove (below).
//   (3) Releasing removes the LOCK only while it still holds our token, so a release never
//       deletes a lock that is not ours. A release whose read or unlink fails (EIO) leaves
//       the LOCK in place and its token in `releasedHere`: that LOCK is provably free, and
//       the next open of the directory in this process takes it over (otherwise the
//       directory could not be opened again until the process exits).
// The in-process registry is keyed by real path (a symlink or `dir/./` is the same
// directory) and lives on globalThis, so the ESM and CJS builds, if both get loaded, share it.
import { linkSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrataError } from '../errors.js';
import { io } from './io-error.js';

const heldHere: Map<string, string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('strata-kv/held-locks')] ??= new Map<string, string>()) as Map<string, string>;
/** Real path -> token of a LOCK this process released but could not remove (invariant 3). */
const releasedHere: Map<string, string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('strata-kv/released-locks')] ??= new Map<string, string>()) as Map<string, string>;

/** What a LOCK file says; fields it lacks are undefined. A bare decimal is an old LOCK's pid. */
interface LockContent { pid: number; start: string | undefined; token: string | undefined }

export function parseLock(text: string): LockContent {
  const field = (name: string): string | undefined => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  const pid = Number(field('pid') ?? text.trim());
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : NaN, start: field('start'), token: field('token') };
}

/**
 * When the process `pid` started, as a string that differs between two processes that had
 * the same pid (Linux: the boot id and the start time in clock ticks from /proc); undefined
 * where that cannot be read.
 */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // field 22; comm may hold spaces
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    return startTicks !== undefined && /^\d+$/.test(startTicks) ? `${boot}/${startTicks}` : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Why the LOCK's holder may still hold it (a LOCKED message), or null when it is provably gone. */
function heldBy(lock: LockContent, dir: string): string | null {
  if (Number.isNaN(lock.pid)) return null; // no pid: not a LOCK anyone could hold
  const now = lock.pid === process.pid ? processStart(process.pid) : processAlive(lock.pid) ? processStart(lock.pid) : null;
  if (now === null) return null;                                         // the pid is not running
  if (lock.start !== undefined && now !== undefined && now !== lock.start) return null; // pid reused
  return lock.pid === process.pid
    ? `${dir} is already open in this process (its LOCK names this process, pid ${lock.pid})`
    : `${dir} is open in process ${lock.pid}`;
}

/**
 * Takes `<dir>/LOCK` (the directory exists); returns the function that releases it, which
 * may be called more than once. LOCKED when another open holds it, here or elsewhere.
 */
export function acquireLock(dir: string): () => void {
  const real = io('resolve', dir, () => realpathSync(dir));
  if (heldHere.has(real)) throw new StrataError('LOCKED', `${dir} is already open in this process`);
  const file = join(real, 'LOCK');
  const token = randomBytes(8).toString('hex');
  const start = processStart(process.pid);
  const tmp = `${file}.${process.pid}.${token}`;
  // Not fsynced: a LOCK matters only while its writer lives, and after a machine crash any
  // LOCK left (even an empty one: no pid) is stale.
  io('create', tmp, () => writeFileSync(tmp, `pid ${process.pid}\n${start === undefined ? '' : `start ${start}\n`}token ${token}\n`));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, file);
        heldHere.set(real, token);
        releasedHere.delete(real);
        let held = true;
        return () => {
          if (!held) return;
          held = false;
          if (heldHere.get(real) === token) heldHere.delete(real);
          if (!releaseFile(file, token)) releasedHere.set(real, token);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let text: string;
      try { text = readFileSync(file, 'latin1'); } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: retry
        throw err;
      }
      const lock = parseLock(text);
      const holder = lock.token !== undefined && releasedHere.get(real) === lock.token ? null : heldBy(lock, dir);
      if (holder !== null) throw new StrataError('LOCKED', holder);
      takeOver(file, text, token);
    }
    throw new StrataError('LOCKED', `${dir}: another process keeps taking its LOCK`);
  } catch (err) {
    if (err instanceof StrataError) throw err;
    return io('lock', file, () => { throw err; });
  } finally {
    try { unlinkSync(tmp); } catch { /* best effort: a stray LOCK.<pid>.<token> is harmless */ }
  }
}

/**
 * Removes a stale LOCK whose content was `stale`. It is moved aside first (atomic) and
 * checked: if another opener replaced the stale LOCK by its own in between, that one goes
 * back, so two openers taking over the same crashed LOCK do not both win. (A third opener
 * linking its own while the fresh one is aside can still race: after a crash, openers are
 * not expected to come in threes at the same instant.)
 */
function takeOver(file: string, stale: string, token: string): void {
  const aside = `${file}.stale.${token}`;
  try { renameSync(file, aside); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it
    throw err;
  }
  if (readFileSync(aside, 'latin1') !== stale) {
    try { linkSync(aside, file); } catch { /* a third opener linked its own: it holds the lock */ }
  }
  unlinkSync(aside);
}

/** Removes the LOCK if it holds `token`; false when it could not be read or removed (it is
 *  then left in place, free). */
function releaseFile(file: string, token: string): boolean {
  try {
    if (parseLock(readFileSync(file, 'latin1')).token === token) unlinkSync(file);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'; // gone already: nothing to release
  }
}
