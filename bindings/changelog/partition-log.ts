// PartitionLog: one partition's chain of segments and the writer's state for its last one.
import { viewOf, type Segment } from './segment-format.js';


export const WRITE_BUFFER_BYTES = 1 << 20;     // per partition: appends coalesce into writes this big

/** The segments of one partition, and the writer's state for its last one. */
export class PartitionLog {
  /** INVARIANT: sorted by base; every one but the last is sealed. Replaced, never mutated, by compaction. */
  segments: Segment[] = [];
  /** Highest seq appended (written or buffered); -1 when empty. */
  lastSeq = -1;
  /** The segment appends go to, or null: the next append starts a new one. */
  active: Segment | null = null;
  fd = -1;
  fileBytes = 0;               // bytes of the active file, all whole records (invariant 3)
  pending: Buffer = Buffer.alloc(0);
  pendingView = viewOf(this.pending);
  pendingBytes = 0;            // encoded records not yet written
  unsynced = false;            // the active file has writes not yet fsynced
  dirUnsynced = false;         // a file was created or removed here since the last fsync
  // The active segment's records (written and buffered), for its end record:
  activeCount = 0;
  activeFirstSeq = -1;
  activeChain = 0;

  constructor(readonly partition: number, readonly dir: string) {}

  isLast(s: Segment): boolean { return this.segments[this.segments.length - 1] === s; }
}
