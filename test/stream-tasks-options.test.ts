// StreamTasks.start's options, checked before a connection is made: a wrong option is
// INVALID_ARGUMENT at once, never a TypeError, and never the IO_ERROR of connecting first (or
// a failure later, once a task uses the option). The server below refuses connections, so a
// bad option that was not checked shows as IO_ERROR; no nats-server is needed.
import { describe, it, expect } from 'vitest';
import { StrataError } from 'strata-kv';
import { StreamTasks, type StreamTasksOptions } from 'strata-kv/nats';

const base = { servers: 'nats://127.0.0.1:1', application: 'job', input: { stream: 'in', partitions: 2 }, stores: { s: {} }, process() {} };

async function codeOf(options: object): Promise<string> {
  try {
    await StreamTasks.start({ ...base, ...options } as StreamTasksOptions<Record<string, object>>);
    return 'started';
  } catch (err) {
    return err instanceof StrataError ? err.code : `not a StrataError: ${String(err)}`;
  }
}

describe('StreamTasks.start: bad options are INVALID_ARGUMENT before any connection', () => {
  it('each bad option', async () => {
    const bad: Record<string, object> = {
      'partitions not an array': { partitions: 3 }, 'partitions null': { partitions: null },
      'group null': { group: null }, 'group a number': { group: 5 }, 'group.standbys 2': { group: { standbys: 2 } },
      'group.memberId a number': { group: { memberId: 5 } }, 'group.bucket with a dot': { group: { bucket: 'a.b' } }, 'group.replicas 0': { group: { replicas: 0 } },
      'a store spec null': { stores: { s: null } }, 'a keyCodec without decode': { stores: { s: { keyCodec: { encode: () => new Uint8Array() } } } },
      'a valueCodec a number': { stores: { s: { valueCodec: 5 } } }, 'mergeOperators not functions': { stores: { s: { mergeOperators: { add: 1 } } } },
      'changelog null': { changelog: null }, 'changelog.replicas a string': { changelog: { replicas: '3' } }, 'changelog.stream with a space': { changelog: { stream: 'a b' } },
      'storeOptions null': { storeOptions: null }, 'storeOptions a number': { storeOptions: 5 },
      'onError a number': { onError: 5 }, 'onRebalance a string': { onRebalance: 'x' },
      'servers a number': { servers: 5 }, 'connection not one': { servers: undefined, connection: {} },
    };
    const got = Object.fromEntries(await Promise.all(Object.entries(bad).map(async ([name, o]) => [name, await codeOf(o)])));
    expect(got).toEqual(Object.fromEntries(Object.keys(bad).map((name) => [name, 'INVALID_ARGUMENT'])));
    expect(await codeOf({})).toBe('IO_ERROR'); // good options get as far as connecting
  });
});
