// The OPFS file layer under OpfsPersistence (persistence-opfs.ts): the parts of the File
// System API it uses, the directory's fixed file names, whole reads and writes through a sync
// access handle, the WAL slots, and opening a store's directory under its LOCK.
// INVARIANTS: a WalSlot's `size` is the byte length of its file (the next record's offset);
// a directory is in `openHere` from the moment openDirectory claims it until its store is
// released (or its open failed), so a second open in the same worker is LOCKED at once.
import { StrataError, invalid } from '../errors.js';
import { io, ioAsync } from './io-error.js';

// The parts of the File System API used here (lib.dom types lack sync access handles, which
// exist only in dedicated Workers).
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}
export interface OpfsFile { createSyncAccessHandle(): Promise<SyncAccessHandle> }
export interface OpfsDirectory {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectory>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFile>;
  removeEntry(name: string): Promise<void>;
  keys(): AsyncIterableIterator<string>;
}
export const LOCK = 'LOCK';
export const MANIFESTS = ['MANIFEST-0', 'MANIFEST-1'];
export const WALS = ['WAL-0', 'WAL-1'];

/** The receivers of File System calls still pending, with how many each has (see held). */
const pendingReceivers = new Map<object, number>();

/**
 * `call(receiver)`, with `receiver` kept reachable until its promise settles. While the store
 * held a FileSystemFileHandle only as the receiver of its pending call, as `(await
 * dir.getFileHandle(name)).createSyncAccessHandle()` does, that call sometimes never settled
 * in Chromium: a fill of 30,000 puts hung in its flush in 7 runs of 8 (and the OPFS fault walk
 * about one run in ten). The same code with the handle kept referenced did not hang in 6 runs
 * of 6. Our reading: a pending call is dropped when its handle is garbage-collected. (A forced
 * gc() did not reproduce it, so that part is not proven.) Every async File System call of the
 * store goes through here.
 */
export async function held<R extends object, T>(receiver: R, call: (r: R) => Promise<T>): Promise<T> {
  pendingReceivers.set(receiver, (pendingReceivers.get(receiver) ?? 0) + 1);
  try {
    return await call(receiver);
  } finally {
    const n = pendingReceivers.get(receiver)! - 1;
    if (n === 0) pendingReceivers.delete(receiver);
    else pendingReceivers.set(receiver, n);
  }
}

/** A sync access handle on file `name` of `dir` (created when `create`); rejects as the File
 *  System API does. */
export async function openSyncHandle(dir: OpfsDirectory, name: string, create: boolean): Promise<SyncAccessHandle> {
  const file = await held(dir, (d) => d.getFileHandle(name, { create }));
  return held(file, (f) => f.createSyncAccessHandle());
}

/** Directories open in this worker: a second open is LOCKED before it touches a file. */
export const openHere = new Set<string>();

/** Why this global scope cannot keep a store in OPFS, or undefined when it can. */
export function opfsUnavailable(): string | undefined {
  const g = globalThis as {
    navigator?: { storage?: { getDirectory?: unknown } };
    FileSystemSyncAccessHandle?: unknown;
    FileSystemFileHandle?: { prototype?: { createSyncAccessHandle?: unknown } };
  };
  if (typeof g.navigator?.storage?.getDirectory !== 'function') {
    return 'this environment has no Origin Private File System (navigator.storage.getDirectory)';
  }
  if (typeof g.FileSystemSyncAccessHandle === 'undefined' || typeof g.FileSystemFileHandle?.prototype?.createSyncAccessHandle !== 'function') {
    return 'its synchronous access handles (FileSystemSyncAccessHandle), which the store needs, exist only in a dedicated Worker';
  }
  return undefined;
}

export function writeAll(h: SyncAccessHandle, bytes: Uint8Array, at: number): void {
  for (let off = 0; off < bytes.length;) {
    const n = h.write(bytes.subarray(off), { at: at + off });
    if (!(n > 0)) throw new Error(`short write: ${off} of ${bytes.length} bytes`);
    off += n;
  }
}

export function readAll(h: SyncAccessHandle, into: Uint8Array): void {
  for (let off = 0; off < into.length;) {
    const n = h.read(into.subarray(off), { at: off });
    if (!(n > 0)) throw new Error(`short read: ${off} of ${into.length} bytes`);
    off += n;
  }
}

/** The whole file, read through its handle. */
export function readWhole(h: SyncAccessHandle, file: string): Uint8Array {
  return io('read', file, () => {
    const b = new Uint8Array(h.getSize());
    readAll(h, b);
    return b;
  });
}

/** Makes the file exactly `bytes`, durably (written, truncated, flushed). */
export function writeWhole(h: SyncAccessHandle, file: string, bytes: Uint8Array): void {
  io('write', file, () => {
    writeAll(h, bytes, 0);
    h.truncate(bytes.length);
    h.flush();
  });
}

export const nameOf = (err: unknown): string | undefined => (err as Error | undefined)?.name;

/** One of the two log files, written through its pre-opened handle. */
export class WalSlot {
  /** Bytes in the file: the next record goes here. */
  size = 0;
  /** The last sequence the slot holds (0 once emptied). */
  lastSeq = 0;
  constructor(readonly file: string, readonly h: SyncAccessHandle) {}

  /** Appends whole records. */
  write(records: Uint8Array): void {
    io('write', this.file, () => writeAll(this.h, records, this.size));
    this.size += records.length;
  }

  flush(): void {
    if (this.size > 0) io('flush', this.file, () => this.h.flush());
  }

  /** Empties the slot: only once a durable manifest holds every record in it. */
  reset(): void {
    io('truncate', this.file, () => { this.h.truncate(0); this.h.flush(); });
    this.size = 0;
    this.lastSeq = 0;
  }
}

/** A store's directory, claimed in this worker (openHere) and locked (its LOCK's handle). */
export interface LockedDirectory { key: string; dir: OpfsDirectory; lock: SyncAccessHandle }

/** Checks `path` ('a/b' nests), creates its directory if needed and takes its LOCK. On
 *  failure nothing stays claimed. */
export async function openDirectory(path: string): Promise<LockedDirectory> {
  const why = opfsUnavailable();
  if (why) {
    throw new StrataError('INVALID_ARGUMENT', `path ${JSON.stringify(path)}: a persistent store in the browser keeps its files in `
      + `the Origin Private File System (OPFS), and ${why}: open the store in a dedicated Worker `
      + `(new Worker(url, { type: 'module' })), or omit path for an in-memory store`);
  }
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.length === 0 || segments.some((s) => s === '.' || s === '..')) {
    throw invalid(`path ${JSON.stringify(path)}: an OPFS directory name ('a' or 'a/b'), without '.' or '..'`);
  }
  const key = segments.join('/');
  if (openHere.has(key)) throw new StrataError('LOCKED', `OPFS directory ${key} is already open in this worker`);
  openHere.add(key);
  try {
    const storage = (globalThis as unknown as { navigator: { storage: { getDirectory(): Promise<unknown> } } }).navigator.storage;
    let dir = await ioAsync('open the OPFS root for', key, () => held(storage, (st) => st.getDirectory())) as OpfsDirectory;
    for (const s of segments) {
      dir = await held(dir, (d) => d.getDirectoryHandle(s, { create: true })).catch((err) => {
        if (nameOf(err) === 'TypeError') throw invalid(`path ${JSON.stringify(path)}: ${JSON.stringify(s)} is not a valid OPFS name`);
        throw new StrataError('IO_ERROR', `create directory ${key} failed: ${nameOf(err)} (${(err as Error)?.message})`, { cause: err });
      });
    }
    const lockFile = await ioAsync('create', `${key}/${LOCK}`, () => held(dir, (d) => d.getFileHandle(LOCK, { create: true })));
    const lock = await held(lockFile, (f) => f.createSyncAccessHandle()).catch((err) => {
      if (nameOf(err) === 'NoModificationAllowedError') {
        throw new StrataError('LOCKED', `OPFS directory ${key} is open in another worker or tab (its LOCK has an open access handle)`);
      }
      throw new StrataError('IO_ERROR', `lock ${key}/${LOCK} failed: ${nameOf(err)} (${(err as Error)?.message})`, { cause: err });
    });
    return { key, dir, lock };
  } catch (err) {
    openHere.delete(key);
    throw err;
  }
}
