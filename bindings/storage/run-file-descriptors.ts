// The open descriptors of a directory's run files, by run number: what the engine reads
// file-backed runs through (env.read_block, RunFileReader). A file is opened when its run
// is imported, or kept once written, and closed when the engine frees the run
// (env.run_freed), so a file deleted meanwhile stays readable through it. Persistence holds
// one for a store; a background job (background/merge-job.ts) one for the inputs it reads.
import { openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Status, type Engine, type RunFileReader } from '../engine/abi.js';
import { io } from './io-error.js';
import { fileName, importRunTail, readFully } from './persistence-core.js';

export class RunFileDescriptors implements RunFileReader {
  private readonly fds = new Map<number, number>();

  constructor(private readonly engine: Engine, readonly dir: string) {}

  fileOf(run: number): string { return join(this.dir, fileName(run, 'run')); }

  readBlock(run: number, offset: number, len: number, dst: number): number {
    const fd = this.fds.get(run);
    return fd === undefined ? Status.IO_ERROR : readFully(fd, this.engine.u8, dst, len, offset, readSync);
  }

  runFreed(run: number): void {
    const fd = this.fds.get(run);
    if (fd !== undefined && this.fds.delete(run)) try { closeSync(fd); } catch { /* nothing left to read through it */ }
  }

  /** Keeps `fd`, open on run `run`'s file (just written), until the run is freed. */
  keep(run: number, fd: number): void { this.fds.set(run, fd); }

  /** The size of run `run`'s open file (0 when it cannot be read); undefined when none is open. */
  size(run: number): number | undefined {
    const fd = this.fds.get(run);
    try { return fd === undefined ? undefined : fstatSync(fd).size; } catch { return 0; }
  }

  /** Opens run `run`'s file and imports the run at `level` (the engine's STAGED_LEVEL
   *  included) from its tail: footer, index and bloom. Its size; on failure the file is
   *  closed again and the error thrown. */
  importTail(run: number, level: number): number {
    const file = this.fileOf(run);
    const fd = io('open', file, () => openSync(file, 'r'));
    this.fds.set(run, fd);
    try {
      const size = io('stat', file, () => fstatSync(fd).size);
      importRunTail(this.engine, run, level, file, size, (offset, len, dst) => this.readBlock(run, offset, len, dst));
      return size;
    } catch (err) {
      this.runFreed(run);
      throw err;
    }
  }

  closeAll(): void { for (const run of [...this.fds.keys()]) this.runFreed(run); }
}
