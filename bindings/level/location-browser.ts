// level/location.ts in browser builds (tsup.config.ts): a location is an OPFS directory
// (persistence-opfs.ts), which holds a store once a manifest slot has been written. Where OPFS
// is missing (no navigator.storage) nothing exists, and Store.open then fails with an
// INVALID_ARGUMENT saying why. (No imports of classes here: the level bundle must share the
// main entry's classes through 'strata-kv'.)
// INVARIANT: same exports as level/location.ts (the result may be a promise; level/index.ts awaits it).
import type { storeExistsAt as nodeStoreExistsAt } from './location.js';

interface Directory {
  getDirectoryHandle(name: string): Promise<Directory>;
  getFileHandle(name: string): Promise<{ getFile(): Promise<{ size: number }> }>;
}

/** Handles with a call pending: Chromium drops a pending File System call whose handle is
 *  garbage-collected meanwhile, and it never settles (storage/opfs-files.ts, held). */
const pending = new Set<object>();
async function held<R extends object, T>(receiver: R, call: (r: R) => Promise<T>): Promise<T> {
  pending.add(receiver);
  try { return await call(receiver); } finally { pending.delete(receiver); }
}

export const storeExistsAt: (...args: Parameters<typeof nodeStoreExistsAt>) => Promise<boolean> = async (location) => {
  const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<unknown> } } }).navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') return false;
  try {
    let dir = await held(storage, (s) => s.getDirectory!()) as Directory;
    for (const part of location.split('/').filter((s) => s !== '')) dir = await held(dir, (d) => d.getDirectoryHandle(part));
    for (const slot of ['MANIFEST-0', 'MANIFEST-1']) {
      const size = await held(dir, (d) => d.getFileHandle(slot)).then((f) => held(f, (h) => h.getFile())).then((f) => f.size, (err) => {
        const name = (err as Error)?.name;
        if (name === 'NoModificationAllowedError') return 1; // an open store holds its slots' handles
        if (name === 'NotFoundError') return 0;
        throw err;
      });
      if (size > 0) return true;
    }
    return false;
  } catch {
    return false; // no such directory or slot (NotFoundError), or not a valid name
  }
};
