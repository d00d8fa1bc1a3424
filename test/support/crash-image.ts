// A crash image: a copy of a store's directory taken while the store is open, which is what
// a killed process leaves (every file write of a Node store is synchronous, so the copy is
// taken between two of them). One difference is made on purpose: the copy has no LOCK. The
// original's LOCK names this process, which is alive, and a LOCK naming a live process (this
// one included) is LOCKED (docs/FORMAT.md, "LOCK"); a killed process's LOCK names a dead
// one and is taken over, which test/lock.test.ts checks with real processes.
import { cpSync } from 'node:fs';
import { basename } from 'node:path';

export function copyCrashImage(dir: string, to: string): void {
  cpSync(dir, to, { recursive: true, filter: (src) => !/^LOCK($|\.)/.test(basename(src)) });
}
