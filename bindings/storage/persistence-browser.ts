// Persistence in browser builds (tsup.config.ts swaps it in for persistence.ts): a Store with
// `path` keeps its runs, manifest and log in the Origin Private File System, from a dedicated
// Worker (persistence-opfs.ts; sync access handles are Worker-only). Elsewhere (a page's main
// thread, a shared worker) opening a directory fails with INVALID_ARGUMENT saying so; in-memory
// stores never reach this file.
// INVARIANT: same exports as persistence.ts, checked below against the shape store.ts uses.
import type { Engine } from '../engine/abi.js';
import type { Disk, DiskFactory, PersistenceOptions } from './persistence-core.js';
import { OpfsPersistence } from './persistence-opfs.js';

export type { PendingCheckpoint, PersistenceOptions } from './persistence-core.js';

// biome-ignore lint/complexity/noStaticOnlyClass: the twin of persistence.ts's class; store.ts calls Persistence.open either way
export class Persistence {
  static open(dir: string, engine: Engine, options: PersistenceOptions): Promise<Disk> {
    return OpfsPersistence.open(dir, engine, options);
  }
}

Persistence satisfies DiskFactory;
