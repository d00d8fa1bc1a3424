// The MANIFEST (docs/FORMAT.md): which run files make up each level, the sequence they
// hold up to, and the current log. Replaced atomically: written to MANIFEST.tmp, fsynced,
// renamed over MANIFEST, then the directory is fsynced, so a crash leaves the old or the
// new manifest, never a mix.
import { openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { StrataError } from './errors.js';
import { io } from './io-error.js';
import { crc32c } from './crc32c.js';

export interface Manifest {
  /** Every write with a sequence <= flushedSeq is in the run files. */
  flushedSeq: number;
  /** The next run file number the engine will use. */
  nextRun: number;
  /** The log file writes go to. */
  log: number;
  /** Run file numbers per level; level 0 newest first, deeper levels in key order. */
  levels: number[][];
  /** The last checkpoint: its sequence is the changelog position the state holds up to. */
  checkpoint?: CheckpointMark;
  /** Present (true) when the store has a ttl: every value starts with an f64 expiresAt. */
  ttl?: boolean;
}

/** What a checkpoint records: the store's state is durable through `seq`, and so is every
 *  changelog sink (Store.checkpoint). */
export interface CheckpointMark { seq: number; time: number }

const HEADER = 'strata-manifest 1';

export function writeManifest(dir: string, m: Manifest): void {
  const json = JSON.stringify(m);
  const text = `${HEADER} ${crc32c(new TextEncoder().encode(json)).toString(16).padStart(8, '0')}\n${json}\n`;
  const tmp = join(dir, 'MANIFEST.tmp');
  io('write', tmp, () => {
    const fd = openSync(tmp, 'w');
    try { writeSync(fd, text); fsyncSync(fd); } finally { closeSync(fd); }
  });
  io('rename', tmp, () => renameSync(tmp, join(dir, 'MANIFEST')));
  syncDir(dir);
}

/** The manifest, or undefined when the directory has none (a new store). */
export function readManifest(dir: string): Manifest | undefined {
  const file = join(dir, 'MANIFEST');
  if (!existsSync(file)) return undefined;
  const text = io('read', file, () => readFileSync(file, 'utf8'));
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  const json = nl < 0 ? '' : text.slice(nl + 1).replace(/\n$/, '');
  const bad = (why: string, offset: number) => new StrataError('CORRUPTION', `${file} at offset ${offset}: ${why}`);
  const m = /^strata-manifest 1 ([0-9a-f]{8})$/.exec(header);
  if (!m) throw bad('not a strata manifest header', 0);
  if (crc32c(new TextEncoder().encode(json)) !== parseInt(m[1], 16)) throw bad('checksum mismatch', nl + 1);
  let parsed: Manifest;
  try { parsed = JSON.parse(json); } catch { throw bad('unreadable JSON', nl + 1); }
  const nat = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!parsed || !nat(parsed.flushedSeq) || !nat(parsed.nextRun) || !nat(parsed.log) || !Array.isArray(parsed.levels)
      || !parsed.levels.every((l) => Array.isArray(l) && l.every(nat))
      || (parsed.checkpoint !== undefined && (!nat(parsed.checkpoint?.seq) || typeof parsed.checkpoint?.time !== 'number'))
      || (parsed.ttl !== undefined && parsed.ttl !== true)) {
    throw bad('fields missing or of the wrong type', nl + 1);
  }
  return parsed;
}

export function syncDir(dir: string): void {
  io('fsync directory', dir, () => {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  });
}
