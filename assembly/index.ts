// The Wasm ABI: every export of the module, and only this file's exports are the module's.
// docs/ABI.md documents each one, the status codes (status.ts) and the shared regions;
// bindings/engine/abi.ts mirrors them. Sequence numbers cross as f64 (exact below 2^53).
// Nothing exported throws or aborts on input. The exports live by concern, each file read
// side by side with its part of docs/ABI.md; the logic behind them is in engine.ts and the
// modules it names:
//   abi-regions.ts      the result region and the argument region (io_reserve, io_grow, io_release)
//   abi-writes.ts       put, del, the conditional writes, batches (write_batch; prepare_batch
//                       then apply_prepared), restore chunks, the log replay's admission
//   abi-reads.ts        get, get_many, snapshots, iterators and their batch region
//   abi-maintenance.ts  flush, compact, pausing compaction, the expiry clock, stats
//   abi-runs.ts         run files: the version's runs, their images out, imports at open,
//                       file-backed runs and the block cache, read and background errors
//   abi-background.ts   compactions merged by the host's worker: delegating, jobs, installs
// Imports go one way: engine.ts -> abi-regions.ts -> the other abi-*.ts -> this file.
import "./abort";
import * as E from "./engine";
import * as S from "./status";

export { result_ptr, io_reserve, io_grow, io_release } from "./abi-regions";
export {
  put, del, del_range, merge, write_batch, prepare_batch, apply_prepared, put_if_version, del_if_version,
  restore_batch, restore_chunk_bytes, set_replaying,
} from "./abi-writes";
export {
  batch_ptr, batch_capacity, get, get_many, last_seq, snapshot_acquire, snapshot_release,
  iter_open, iter_next, iter_close,
} from "./abi-reads";
export { stats_ptr, flush, compact, pause_compaction, stats, set_expiry_clock, set_memory_reserve } from "./abi-maintenance";
export {
  version_stamp, flushed_seq, next_run_id, version_runs, run_image_size, run_image, run_image_blocks,
  run_image_tail_size, run_image_tail, run_import, recover_seq, enable_file_backing, set_block_cache_bytes,
  run_detach, run_tail_offset, run_footer, run_import_tail, read_error, bg_error,
} from "./abi-runs";
export { bg_delegate, bg_state, bg_job, bg_merge, bg_clear, bg_install, bg_fail, take_run_ids } from "./abi-background";

export function init(memtableBytes: u32, blockBytes: u32, bloomBitsPerKey: u32, level0Trigger: i32,
                     levelBaseBytes: f64, levelMultiplier: u32, runTargetBytes: f64,
                     autoCompaction: bool, maxMemoryBytes: f64): i32 {
  if (memtableBytes < 256 || blockBytes < 64 || level0Trigger < 1 || levelMultiplier < 2
      || levelBaseBytes < 1 || runTargetBytes < 1 || bloomBitsPerKey > 64) return S.INVALID_ARGUMENT;
  let c = E.config;
  c.memtableBytes = memtableBytes;
  c.compaction.blockBytes = blockBytes;
  c.compaction.bitsPerKey = bloomBitsPerKey;
  c.level0Trigger = level0Trigger;
  c.levelBaseBytes = <u64>levelBaseBytes;
  c.levelMultiplier = levelMultiplier;
  c.compaction.runTargetBytes = <u64>runTargetBytes;
  c.autoCompaction = autoCompaction;
  return E.init(c, <u64>maxMemoryBytes);
}
