// Optimistic concurrency: clients doing read-modify-write through putIfVersion, interleaved
// in any order (fast-check picks the schedule), never lose an update. Each client wants to
// add its increments to shared counters; a step is either "read (value, version)" or "try
// to write value + 1 at that version". Model: every counter ends at the number of increments
// that reported success, and successes equal increments requested once every client is done.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Store, codecs } from 'strata-kv';

interface Client { counter: string; todo: number; read?: { value: number; version: number } }

describe('putIfVersion under interleaved read-modify-write clients', () => {
  it('loses no update (300 schedules)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ counter: fc.constantFrom('a', 'b'), todo: fc.integer({ min: 1, max: 5 }) }), { minLength: 2, maxLength: 5 }),
      fc.array(fc.nat(), { minLength: 10, maxLength: 200 }),
      fc.boolean(),
      async (specs, schedule, tiny) => {
        const store = await Store.open<string, number>({
          keyCodec: codecs.utf8, valueCodec: codecs.json, ...(tiny ? { memtableBytes: 256, blockBytes: 64 } : {}),
        });
        const clients: Client[] = specs.map((s) => ({ ...s }));
        const step = (c: Client) => {
          if (c.todo === 0) return;
          if (c.read === undefined) {
            const cur = store.getVersioned(c.counter);
            c.read = cur ? { value: cur.value, version: cur.version } : { value: 0, version: 0 };
          } else {
            if (store.putIfVersion(c.counter, c.read.value + 1, c.read.version)) c.todo--;
            c.read = undefined; // success or conflict: read again before the next attempt
          }
        };
        for (const pick of schedule) step(clients[pick % clients.length]);
        // Drain: run every client to completion (round robin, so conflicts still happen).
        for (let guard = 0; clients.some((c) => c.todo > 0); guard++) {
          expect(guard).toBeLessThan(10_000);
          for (const c of clients) step(c);
        }
        for (const counter of ['a', 'b']) {
          const wanted = specs.filter((s) => s.counter === counter).reduce((n, s) => n + s.todo, 0);
          expect(store.get(counter) ?? 0).toBe(wanted);
        }
        await store.close();
      },
    ), { numRuns: 300 });
  });
});
