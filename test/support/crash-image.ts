// A crash image: a copy of a store's directory taken while the store is open, which is what
// a killed process leaves. The store's thread is in this copy, so it changes no file
// meanwhile; its workers may: a compaction job writes output files no manifest names yet,
// and the file worker writes run files no manifest names yet and replaces the MANIFEST
// (MANIFEST.tmp renamed over it). A file that vanishes between the listing and its copy is
// left out, as a kill at that instant would have it: the old MANIFEST copied before the
// rename, or the new one after; either names only files written whole, and nothing the
// store deletes goes during the copy (deletions are the store's thread's).
// One difference is made on purpose: the copy has no LOCK. The original's LOCK names this
// process, which is alive, and a LOCK naming a live process (this one included) is LOCKED
// (docs/FORMAT.md, "LOCK"); a killed process's LOCK names a dead one and is taken over,
// which test/lock.test.ts checks with real processes.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function copyCrashImage(dir: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (/^LOCK($|\.)/.test(entry.name)) continue;
    const from = join(dir, entry.name);
    if (entry.isDirectory()) { copyCrashImage(from, join(to, entry.name)); continue; }
    try {
      copyFileSync(from, join(to, entry.name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
