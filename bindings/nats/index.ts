// strata-kv/nats: what strata-kv does on NATS JetStream.
//   NatsChangelog  a replicated changelog for stores, restores and standbys (nats/changelog.ts)
//   StreamTasks    stateful stream processing, exactly once: a task per input partition whose
//                  state and input position are committed together (nats/tasks/, docs/STREAMS.md)
//   StreamProducer publishes keyed messages to a partitioned input (Kafka's partitioner)
// First: without the NATS client packages (optional peers) the import fails here, clearly.
import './client.js';
export { NatsChangelog } from './changelog.js';
export type { NatsChangelogOptions } from './setup.js';
export type { NatsChangelogStats } from './core.js';
export { StreamTasks } from './tasks/stream-tasks.js';
export type { StreamTasksOptions, TaskStores, RebalanceEvent } from './tasks/stream-tasks.js';
export type { TaskContext, PartitionTaskStats } from './tasks/partition-task.js';
export { TaskStore } from './tasks/task-stores.js';
export type { TaskStoreSpec } from './tasks/task-stores.js';
export { StreamProducer } from './tasks/producer.js';
export type { StreamProducerOptions } from './tasks/producer.js';
export type { InputMessage, InputOptions } from './tasks/input.js';
