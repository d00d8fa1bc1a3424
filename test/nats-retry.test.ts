// withRetry with isTransient (bindings/nats/util.ts), as NatsLeaseTable.open uses it: a
// StreamTasks worker started while the cluster elects a JetStream leader used to die at once
// with "cannot open the group's KV bucket …: timeout" (seen in CI's 3-node stream test); the
// open now rides out timeouts and an unavailable JetStream, and reports anything else at once.
import { describe, it, expect } from 'vitest';
import { isTransient, withRetry } from '../bindings/nats/util.js';

const timeout = () => Object.assign(new Error('timeout'), { name: 'TimeoutError' });

describe('withRetry(fn, ms, isTransient)', () => {
  it('retries timeouts and an unavailable JetStream until the call succeeds', async () => {
    const failures = [timeout(), new Error('503 no responders'), new Error('JetStream system temporarily unavailable')];
    let calls = 0;
    const v = await withRetry(async () => {
      calls++;
      if (failures.length > 0) throw failures.shift();
      return 'bucket';
    }, 5_000, isTransient);
    expect([v, calls]).toEqual(['bucket', 4]);
  });

  it('reports any other failure at once, and a transient one once its time is up', async () => {
    let calls = 0;
    const bad = new Error('insufficient resources');
    await expect(withRetry(async () => { calls++; throw bad; }, 5_000, isTransient)).rejects.toBe(bad);
    expect(calls).toBe(1);
    calls = 0;
    const started = Date.now();
    await expect(withRetry(async () => { calls++; throw timeout(); }, 300, isTransient)).rejects.toThrow('timeout');
    expect(calls).toBeGreaterThan(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
