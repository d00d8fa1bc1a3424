// The write-ahead log of an OPFS store (docs/FORMAT.md, "Log slots"): two slots, WAL-0 and
// WAL-1, written through handles opened at open time, because the engine logs a write
// synchronously, inside it. With `sync` each record is written and flushed before the write
// returns. Without, records collect in a buffer that a microtask writes out when the JS task
// that made them ends (or sooner, at 1 MiB): one OPFS write per task, not per put, since an
// OPFS write costs tens of microseconds and a put one.
// INVARIANTS: each slot holds consecutive sequences; the buffered records belong to the
// active slot and follow its `size` bytes; the slot not in use holds no sequence above the
// durable manifest's flushedSeq once `resetCovered` has run for that manifest.
import { io } from './io-error.js';
import { WalBuffer } from './wal-format.js';
import type { IoFailure } from './persistence-core.js';
import type { SyncAccessHandle, WalSlot } from './opfs-files.js';

/** Log records collect in memory up to this many bytes within a task. */
const BUFFER_BYTES = 1 << 20;

/** Where the log ended before an append: its slot and the byte offset in it. */
export interface LogMark { slot: number; at: number }

export class OpfsLog {
  /** The slots; empty for a store without a log. */
  slots: WalSlot[] = [];
  /** The slot writes are logged to. */
  active = 0;
  /** Records logged in this task, not yet written to the active slot. */
  private readonly buffer = new WalBuffer(BUFFER_BYTES);
  /** A microtask will write the buffered records out. */
  private writeOutQueued = false;
  private closed = false;

  /** `rotateBytes`: slot bytes after which writes move to the other slot once it is empty. */
  constructor(private readonly sync: boolean, private readonly rotateBytes: number, private readonly failure: IoFailure) {}

  /** Logs one record: into the file and flushed before returning with `sync`; otherwise
   *  into the buffer, written out when the current task ends (or sooner, when it fills). A
   *  failed append leaves the log as it was and throws (kept as the store's failure). */
  append(type: number, firstSeq: number, count: number, lastSeq: number, image: Uint8Array): LogMark {
    const slot = this.slots[this.active];
    const mark: LogMark = { slot: this.active, at: slot.size + this.buffer.pending };
    try {
      this.failure.guard(() => {
        this.buffer.add(type, firstSeq, count, image, (b) => slot.write(b));
        if (this.sync) {
          this.writeOut();
          io('flush', slot.file, () => slot.h.flush());
        }
      });
    } catch (err) {
      this.unlog(mark);
      throw err;
    }
    slot.lastSeq = lastSeq;
    if (!this.sync && !this.writeOutQueued) {
      this.writeOutQueued = true;
      queueMicrotask(this.writeOutSoon);
    }
    return mark;
  }

  /** Takes back the records logged from `mark` on (their write failed after logging). A log
   *  that cannot be cut back is kept as the store's failure. */
  unlog(m: LogMark): void {
    const slot = this.slots[m.slot];
    try {
      if (slot.size > m.at) {
        io('truncate', slot.file, () => { slot.h.truncate(m.at); slot.h.flush(); });
        slot.size = m.at;
      }
      if (m.slot === this.active) this.buffer.dropFrom(Math.max(0, m.at - slot.size));
    } catch (err) {
      this.failure.record(err);
    }
  }

  /** Writes the buffered records to the active slot (they are its records). */
  writeOut(): void {
    if (this.buffer.pending > 0) this.buffer.drain((b) => this.slots[this.active].write(b));
  }

  /** Every logged record written and flushed: durable. Throws on an I/O failure. */
  flushAll(): void {
    this.writeOut();
    for (const w of this.slots) w.flush();
  }

  /** After an I/O failure, at close: whatever can still be written and flushed, each slot
   *  tried, so that a reopen recovers what it can. */
  flushBestEffort(): void {
    try { this.writeOut(); } catch { /* the slots may still hold earlier records */ }
    for (const w of this.slots) { try { w.flush(); } catch { /* the next slot, still */ } }
  }

  /** Once every logged write is in runs (`flushedSeq` covers the slot), or the slot holds
   *  about a memtable of them, writes go on in the other slot if it is empty, so that this
   *  one can be emptied when a manifest covers it. (Flushes run in slices, so some logged
   *  writes are nearly always newer than flushedSeq: waiting for none would let one slot
   *  grow while writes go on.) */
  switchIfDue(flushedSeq: number): void {
    const current = this.slots[this.active];
    const other = this.slots[this.active ^ 1];
    if (current && other && current.lastSeq > 0 && other.size === 0
        && (flushedSeq >= current.lastSeq || current.size >= this.rotateBytes)) {
      this.failure.guard(() => this.writeOut());
      this.active ^= 1;
    }
  }

  /** A durable manifest holds every write through `flushedSeq`: the slots it covers are emptied. */
  resetCovered(flushedSeq: number): void {
    for (const w of this.slots) if (w.size > 0 && w.lastSeq <= flushedSeq) w.reset();
  }

  /** The slots' handles, for closing; the log takes no more writes. */
  close(): SyncAccessHandle[] {
    this.closed = true;
    const handles = this.slots.map((w) => w.h);
    this.slots = [];
    return handles;
  }

  private readonly writeOutSoon = (): void => {
    this.writeOutQueued = false;
    if (this.closed) return;
    try {
      this.failure.guard(() => this.writeOut());
    } catch {
      // Kept as the store's failure: the next write or flush reports it.
    }
  };
}
