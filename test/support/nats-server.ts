// Real nats-server processes for the NATS tests: scripts/nats-server.mjs (shared with the
// examples) holds the one implementation.
export { ensureNatsServer, natsServerOrSkip, freePort, startNats } from '../../scripts/nats-server.mjs';
export type { NatsNode, NatsCluster } from '../../scripts/nats-server.mjs';
