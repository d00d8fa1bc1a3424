// The public API shared by every entry point: index.ts (Node) adds FileChangelog, which
// needs a Node file system; browser.ts is this alone.
export { Store } from './store/store.js';
export type { Snapshot, WriteOp, RangeOptions, RangeBounds, Checkpoint } from './store/store.js';
export type { KeyValueIterator } from './store/iterator.js';
export { codecs } from './codecs.js';
export type { Codec } from './codecs.js';
export { StrataError } from './errors.js';
/** The longest key and value a store takes (KEY_TOO_LARGE, VALUE_TOO_LARGE beyond). */
export { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './engine/abi.js';
export type { StrataErrorCode } from './errors.js';
export type { StoreOptions } from './store/options.js';
export type { MergeOperator } from './store/merge-operators.js';
/** The operators every store has (add, max, min, append), by name. */
export { builtinMergeOperators } from './store/merge-operators.js';
export type { StoreStats, LevelStats } from './store/stats.js';
export type { ChangeRecord, ChangelogSink, ChangelogSource } from './changelog/contract.js';
export { PartitionedStore } from './partition/partitioned-store.js';
export type { PartitionedStoreOptions, PartitionedStoreStats } from './partition/partitioned-store.js';
export { murmur2, kafkaPartition } from './partition/murmur2.js';
export type { RestoreProgress, RestoreOptions } from './changelog/restore.js';
export { MemoryChangelog } from './changelog/memory-changelog.js';
export { Standby } from './standby/standby.js';
export type { StandbyOptions, StandbyLagStatus, ChangelogFollower, FollowableSource } from './standby/standby.js';
export { WindowStore } from './window/window-store.js';
export type { WindowValue, WindowedEntry } from './window/window-store.js';
export type { WindowStoreOptions, WindowStoreStats } from './window/window-options.js';
export type { WindowIterator } from './window/window-iterator.js';
export { SessionStore } from './window/session-store.js';
export type { SessionEntry } from './window/session-store.js';
export type { SessionStoreOptions } from './window/window-options.js';
