// Real nats-server processes for the NATS tests: scripts/nats-server.mjs (shared with the
// examples) holds the one implementation; natsForFile is the one-node server most test
// files start for themselves.
import { beforeAll, afterAll } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsServerOrSkip, startNats } from '../../scripts/nats-server.mjs';
import type { NatsCluster } from '../../scripts/nats-server.mjs';

export { ensureNatsServer, natsServerOrSkip, freePort, startNats } from '../../scripts/nats-server.mjs';
export type { NatsNode, NatsCluster } from '../../scripts/nats-server.mjs';

/** One nats-server node for the tests of one file and a connection to it, started before them
 *  and stopped after. `bin` is undefined where natsServerOrSkip skips (the file's
 *  describe.skipIf(!bin) then says why); `nats` and `nc` are set once the tests run. */
export function natsForFile(file: string): { bin: string | undefined; nats: NatsCluster; nc: NatsConnection } {
  const server = { bin: natsServerOrSkip(file) } as { bin: string | undefined; nats: NatsCluster; nc: NatsConnection };
  beforeAll(async () => {
    if (!server.bin) return;
    server.nats = await startNats(server.bin, 1);
    server.nc = await connect({ servers: server.nats.servers });
  });
  afterAll(async () => {
    await server.nc?.close();
    await server.nats?.stop();
  });
  return server;
}
