// StreamProducer.send (strata-kv/nats) when a send cannot be stored, on a real nats-server:
// bad options, a value past the server's max_payload, a closed producer, a server gone.
// Every failure is a StrataError with a code (NATS's own TypeError, InvalidArgumentError,
// ClosedConnectionError and TimeoutError came through as they were).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { StrataError } from 'strata-kv';
import { StreamProducer } from 'strata-kv/nats';
import { natsServerOrSkip, startNats, type NatsCluster } from './support/nats-server.js';

const bin = natsServerOrSkip('test/stream-producer.test.ts');
let nats: NatsCluster;

beforeAll(async () => { if (bin) nats = await startNats(bin, 1); });
afterAll(async () => { await nats?.stop(); });

async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try { await fn(); return 'ok'; } catch (err) {
    return err instanceof StrataError ? err.code : `not a StrataError: ${String(err)}`;
  }
}

describe.skipIf(!bin)('StreamProducer.send failures are StrataErrors', () => {
  it('bad options, a value past max_payload, a closed producer (its own connection or a caller connection), a server gone', async () => {
    const k = new Uint8Array([1]);
    const p = await StreamProducer.connect({ servers: nats.servers, stream: 'prodin', partitions: 3 });
    expect(await codeOf(() => p.send(k, k, null as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => p.send(k, k, { msgId: 5 as never }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => p.send(k, k, { msgId: '' }))).toBe('INVALID_ARGUMENT'); // would turn deduplication off
    expect(await codeOf(() => p.send(k, k, { msgId: 'a\r\nb' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => p.send(k, new Uint8Array(2 << 20)))).toBe('VALUE_TOO_LARGE'); // the server's max_payload is 1 MiB
    expect(await p.send(k, k, { msgId: 'one' })).toMatchObject({ position: 1 }); // the producer goes on
    await p.close();
    expect(await codeOf(() => p.send(k, k))).toBe('CLOSED');

    const nc: NatsConnection = await connect({ servers: nats.servers });
    const shared = await StreamProducer.connect({ connection: nc, stream: 'prodin', partitions: 3 });
    await shared.close(); // leaves the caller's connection open; the producer is closed all the same
    expect(nc.isClosed()).toBe(false);
    expect(await codeOf(() => shared.send(k, k))).toBe('CLOSED');
    await nc.close();

    const orphan = await StreamProducer.connect({ servers: nats.servers, stream: 'prodin', partitions: 3 });
    await nats.stop();
    expect(await codeOf(() => orphan.send(k, k))).toBe('IO_ERROR'); // not stored: the publish timed out
    await orphan.close();
  }, 30_000);
});
