// Recovery at open, the part before a Node store writes anything (persistence.ts then
// starts a fresh log, makes the state durable and deletes what no manifest names): the
// manifest's runs imported from their files, then every log from the manifest's on
// replayed into the engine, and the memtable flushed. Damage — a run file or a log the
// manifest names missing, a run file or a log with records without a manifest — is
// CORRUPTION naming the file, never a store that silently lost writes.
import { readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Status, statusError, type Engine } from '../engine/abi.js';
import { StrataError } from '../errors.js';
import { io } from './io-error.js';
import { readManifest, type CheckpointMark } from './manifest.js';
import { replayWal } from './wal.js';
import type { RunFileDescriptors } from './run-file-descriptors.js';
import { fileName, numbered, checkTtl, checkLevels, recoverSeq, replayWalRecord } from './persistence-core.js';

export interface Recovered {
  /** The directory's entries before recovery, and its logs' numbers in order. */
  names: string[];
  logs: number[];
  /** The first log the manifest needs (0 without a manifest). */
  firstLog: number;
  checkpoint: CheckpointMark | undefined;
}

/** In a directory without a MANIFEST, the first file that holds data: a run file or a log
 *  with records. An empty log does not count: the first open of a fresh directory creates
 *  its log before its first MANIFEST, and a fault or crash between the two leaves just that
 *  (OPFS's recovery counts only non-empty log slots likewise). */
export function heldWithoutManifest(dir: string, names: string[]): string | undefined {
  return names.find((n) => numbered(n, 'run') !== undefined
    || (numbered(n, 'wal') !== undefined && io('stat', join(dir, n), () => statSync(join(dir, n)).size) > 0));
}

/** Recovers `dir` into the fresh `engine`; the runs imported from files are added to `onDisk`. */
export function recoverDirectory(dir: string, engine: Engine, runFiles: RunFileDescriptors, onDisk: Set<number>, ttl: boolean): Recovered {
  const names = io('list', dir, () => readdirSync(dir));
  const manifest = readManifest(dir);
  if (!manifest) {
    const stray = heldWithoutManifest(dir, names);
    if (stray) throw new StrataError('CORRUPTION', `${dir} has ${stray} but no MANIFEST`);
  } else {
    checkTtl(manifest, ttl, dir);
    checkLevels(manifest, join(dir, 'MANIFEST'));
    manifest.levels.forEach((ids, level) => {
      for (const id of ids) {
        const file = join(dir, fileName(id, 'run'));
        if (!existsSync(file)) throw new StrataError('CORRUPTION', `${file}: listed in the MANIFEST but missing`);
        runFiles.importTail(id, level);
        onDisk.add(id);
      }
    });
    recoverSeq(engine, manifest, join(dir, 'MANIFEST'));
  }
  const logs = names.map((n) => numbered(n, 'wal')).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
  const firstLog = manifest?.log ?? 0;
  if (manifest?.logged && !logs.includes(firstLog)) {
    // Its writes above flushedSeq would be gone without a word: damage, not an empty log.
    throw new StrataError('CORRUPTION', `${join(dir, fileName(firstLog, 'wal'))}: named by the MANIFEST but missing`);
  }
  // No compaction while the log is replayed: one meeting a damaged run would refuse the
  // rest of these acknowledged writes (the background error). The flush below starts it.
  engine.pauseCompaction(true);
  for (const n of logs) {
    const file = join(dir, fileName(n, 'wal'));
    if (n >= firstLog) replayWal(file, (r) => replayWalRecord(engine, file, r));
  }
  engine.pauseCompaction(false);
  // Recovery ends with everything in run files and a fresh, empty log.
  const st = engine.flush();
  if (st !== Status.OK) throw statusError(st, 'flush after recovery');
  return { names, logs, firstLog, checkpoint: manifest?.checkpoint };
}
