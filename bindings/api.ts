// The public API shared by every entry point: index.ts (Node) adds FileChangelog, which
// needs a Node file system; browser.ts is this alone.
export { Store } from './store.js';
export type { Snapshot, WriteOp, RangeOptions, Checkpoint } from './store.js';
export type { KeyValueIterator } from './iterator.js';
export { codecs } from './codecs.js';
export type { Codec } from './codecs.js';
export { StrataError } from './errors.js';
export type { StrataErrorCode } from './errors.js';
export type { StoreOptions } from './options.js';
export type { StoreStats, LevelStats } from './stats.js';
export type { ChangeRecord, ChangelogSink, ChangelogSource } from './changelog.js';
export { PartitionedStore } from './partitioned-store.js';
export type { PartitionedStoreOptions, PartitionedStoreStats } from './partitioned-store.js';
export { murmur2, kafkaPartition } from './murmur2.js';
export type { RestoreProgress, RestoreOptions } from './restore.js';
export { MemoryChangelog } from './memory-changelog.js';
export { Standby } from './standby.js';
export type { StandbyOptions, StandbyLagStatus, ChangelogFollower, FollowableSource } from './standby.js';
