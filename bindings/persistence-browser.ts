// Persistence in browser builds (tsup.config.ts swaps it in for persistence.ts): a Store
// with `path` will keep its runs, manifest and log in the Origin Private File System from a
// dedicated Worker (sync access handles are Worker-only). Until that exists, opening a
// directory fails with a clear INVALID_ARGUMENT; in-memory stores never reach this file.
// INVARIANT: same exported shape as persistence.ts (the statics are type-checked against it
// below), so store.ts runs unchanged on either and an OPFS implementation can replace this.
import type { Persistence as NodePersistence } from './persistence.js';
import { StrataError } from './errors.js';

export type { PendingCheckpoint, PersistenceOptions } from './persistence.js';

export class Persistence {
  static open(...[dir]: Parameters<typeof NodePersistence.open>): NodePersistence {
    throw new StrataError('INVALID_ARGUMENT',
      `path ${JSON.stringify(dir)}: persistent stores in the browser need OPFS persistence in a dedicated Worker, `
      + 'which is not implemented yet; omit path for an in-memory store');
  }
}

// Compile-time check: every static of the Node Persistence exists here with a compatible type.
Persistence satisfies Omit<typeof NodePersistence, 'prototype'>;
