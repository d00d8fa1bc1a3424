// The MANIFEST file of a Node store (docs/FORMAT.md): which run files make up each level, the
// sequence they hold up to, and the current log, in the text of manifest-format.ts (shared
// with the OPFS manifest slots). Replaced atomically: written to MANIFEST.tmp, fsynced,
// renamed over MANIFEST, then the directory is fsynced, so a crash leaves the old or the new
// manifest, never a mix.
import { openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { io } from './io-error.js';
import { encodeManifest, decodeManifest, type Manifest } from './manifest-format.js';

export type { Manifest, CheckpointMark } from './manifest-format.js';

export function writeManifest(dir: string, m: Manifest): void {
  writeManifestText(dir, encodeManifest(m));
}

/** writeManifest of a manifest already encoded (a file task: file-tasks.ts). */
export function writeManifestText(dir: string, text: string): void {
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
  return decodeManifest(io('read', file, () => readFileSync(file, 'utf8')), file);
}

export function syncDir(dir: string): void {
  io('fsync directory', dir, () => {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  });
}
