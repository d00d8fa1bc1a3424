// Writes one run's file (docs/FORMAT.md, "Run file") a chunk at a time, so that writing an
// 8 MiB run — or the 80 MiB a compaction may have produced — is spread over many store
// calls instead of stalling one of them (docs/LSM.md, "Run files in slices").
//
// Each step copies whole blocks (about `chunkBytes`) out of the engine with their checksums
// (run_image_blocks), writes them and fdatasyncs them, so the final fsync has little left to
// do; the last step writes the index, bloom and footer and fsyncs the file. The file is
// durable only once step() has returned 'done'; until then nothing names it.
import { openSync, writeSync, fsyncSync, fdatasyncSync, closeSync, unlinkSync } from 'node:fs';
import { Status, statusError, type Engine } from '../engine/abi.js';
import { io } from './io-error.js';

/** Bytes of run files a store call writes (and fdatasyncs) after a flush or compaction: a
 *  quarter of the memtable, so a run is always spread over several calls; at most 1 MiB
 *  (1–3 ms here), at least 4 KiB. */
export const sliceBytesFor = (memtableBytes: number) => Math.min(1 << 20, Math.max(4096, memtableBytes >>> 2));
/** Run-file bytes a logged byte costs, at most: leveled compaction's write amplification
 *  (10–14 in a random fill) with room to spare. */
export const RUN_BYTES_PER_BYTE = 16;

export type StepResult = 'more' | 'done' | 'gone';

export class RunFileWriter {
  /** Open on the file being written; kept by the caller once the file is done. */
  readonly fd: number;
  private nextBlock = 0;
  /** Bytes written so far. */
  offset = 0;
  /** Bytes written by the last step. */
  lastBytes = 0;

  constructor(private readonly engine: Engine, readonly id: number, readonly file: string) {
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
      this.write(e.u8.subarray(out, out + r.bytes));
      io('sync', this.file, () => fdatasyncSync(this.fd));
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
    this.write(e.u8.subarray(tail, tail + size));
    io('sync', this.file, () => fsyncSync(this.fd));
    this.lastBytes = size;
    return 'done';
  }

  /** Writes the whole file now. False when the run is no longer live. */
  writeAll(): boolean {
    for (;;) {
      const r = this.step(4 << 20);
      if (r === 'done') return true;
      if (r === 'gone') return false;
    }
  }

  /** Closes and deletes an unfinished file. */
  abandon(): void {
    try { closeSync(this.fd); } catch { /* already unusable */ }
    try { unlinkSync(this.file); } catch { /* a leftover is deleted at the next open */ }
  }

  private write(bytes: Uint8Array): void {
    io('write', this.file, () => {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.offset + done);
    });
    this.offset += bytes.length;
  }
}
