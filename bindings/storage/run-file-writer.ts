// Writes one run's file (docs/FORMAT.md, "Run file") a chunk at a time, so that writing an
// 8 MiB run — or the 80 MiB a compaction may have produced — is spread over many store
// calls instead of stalling one of them (docs/LSM.md, "Run files in slices").
//
// Each step copies whole blocks (about `chunkBytes`) out of the engine with their checksums
// (run_image_blocks) and submits them as a file task (file-tasks.ts): written, and on the
// store's thread fdatasynced, so the final fsync has little left to do; the last step
// submits the index, bloom and footer, fsynced. Tasks run at once on this thread, or on the file worker. The
// file is durable only once every task of it is done (durable()); until then nothing names it.
import { openSync, closeSync, unlinkSync } from 'node:fs';
import { Status, statusError, type Engine } from '../engine/abi.js';
import { io } from './io-error.js';
import type { FileTasks } from './file-tasks.js';

/** Bytes of run files a store call writes (and fdatasyncs) after a flush or compaction: a
 *  quarter of the memtable, so a run is always spread over several calls; at most 1 MiB
 *  (1–3 ms here), at least 4 KiB. */
export const sliceBytesFor = (memtableBytes: number) => Math.min(1 << 20, Math.max(4096, memtableBytes >>> 2));
/** Run-file bytes a logged byte costs, at most: leveled compaction's write amplification
 *  (10–14 in a random fill) with room to spare. */
export const RUN_BYTES_PER_BYTE = 16;

/** 'done': the whole file is submitted (durable once durable() says so). */
export type StepResult = 'more' | 'done' | 'gone';

export class RunFileWriter {
  /** Open on the file being written; kept by the caller once the file is done. */
  readonly fd: number;
  private nextBlock = 0;
  /** Bytes written so far. */
  offset = 0;
  /** Bytes written by the last step. */
  lastBytes = 0;
  /** The ticket of the file's last task submitted; every byte was submitted ('done'). */
  private lastTicket = 0;
  submitted = false;

  /** On the store's thread each chunk is fdatasynced as written, so the final fsync has
   *  little left; off it (the file worker, whose waits no caller sees) the final fsync does
   *  it all. */
  private readonly syncChunks: boolean;

  constructor(private readonly engine: Engine, private readonly tasks: FileTasks, readonly id: number, readonly file: string) {
    this.syncChunks = !tasks.offThread;
    this.fd = io('create', file, () => openSync(file, 'w+'));
  }

  /** Writes about `chunkBytes` more. 'gone': the run is no longer live (compacted away
   *  meanwhile); the caller abandons the file. */
  step(chunkBytes: number): StepResult {
    const e = this.engine;
    let room = chunkBytes;
    let out = e.reserve(room);
    let r = e.runImageBlocks(this.id, this.nextBlock, room, out);
    if (r.blocks === 0 && r.bytes > 0) {
      room = r.bytes; // one block larger than a chunk (a large value)
      out = e.reserve(room);
      r = e.runImageBlocks(this.id, this.nextBlock, room, out);
    }
    if (r.blocks < 0) return 'gone';
    if (r.blocks > 0) {
      this.write(e.u8.subarray(out, out + r.bytes), this.syncChunks ? 'data' : 'none');
      this.nextBlock += r.blocks;
      this.lastBytes = r.bytes;
      return 'more';
    }
    const size = e.runImageTailSize(this.id);
    if (size === 0) return 'gone';
    const tail = e.reserve(size);
    const st = e.runImageTail(this.id, tail);
    if (st === Status.NOT_FOUND) return 'gone';
    if (st !== Status.OK) throw statusError(st, `run ${this.id} image`, e);
    this.write(e.u8.subarray(tail, tail + size), 'full');
    this.lastBytes = size;
    this.submitted = true;
    return 'done';
  }

  /** Every byte is submitted and written durably; throws the tasks' failure. */
  durable(): boolean { return this.submitted && this.tasks.done() >= this.lastTicket; }

  /** Blocks until durable(); throws the tasks' failure. */
  waitDurable(): void { this.tasks.waitFor(this.lastTicket); }

  /** Writes the whole file durably now. False when the run is no longer live. */
  writeAll(): boolean {
    for (;;) {
      const r = this.step(4 << 20);
      if (r === 'done') { this.waitDurable(); return true; }
      if (r === 'gone') return false;
    }
  }

  /** Closes and deletes an unfinished file, once no task of it is running (a descriptor
   *  closed under a pending write could be reused by another file meanwhile). */
  abandon(): void {
    try { this.tasks.waitFor(this.lastTicket); } catch { /* the failure is the store's already */ }
    try { closeSync(this.fd); } catch { /* already unusable */ }
    try { unlinkSync(this.file); } catch { /* a leftover is deleted at the next open */ }
  }

  private write(bytes: Uint8Array, sync: 'none' | 'data' | 'full'): void {
    this.lastTicket = this.tasks.submit({ op: 'write', fd: this.fd, file: this.file, at: this.offset, bytes, sync });
    this.offset += bytes.length;
  }
}
