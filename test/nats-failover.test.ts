// Partition ownership across processes: two Node processes own disjoint partitions of one
// 4-partition layout; one is SIGKILLed; the other fences and restores the orphaned partitions
// from JetStream and carries on serving them. Runs examples/partition-failover/run.mjs (the
// runnable example) against a nats-server started here; the example checks that every write
// the killed owner acknowledged survived. Uses the built package (npm test builds it first).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { natsServerOrSkip, startNats, type NatsCluster } from './support/nats-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = natsServerOrSkip('test/nats-failover.test.ts');
let nats: NatsCluster;

beforeAll(async () => { if (bin) nats = await startNats(bin, 1); });
afterAll(async () => { await nats?.stop(); });

describe.skipIf(!bin)('partition failover across processes', () => {
  it('a killed owner\'s partitions are restored from JetStream by another process, losing no acknowledged write', async () => {
    const built = existsSync(root + 'dist/nats.js') && readFileSync(root + 'dist/nats.js', 'utf8').includes('NatsChangelog');
    expect(built, 'dist/nats.js has no NatsChangelog: run npm run build').toBe(true);
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [root + 'examples/partition-failover/run.mjs', '--servers', nats.servers[0]], { timeout: 45_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    console.log(stdout);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OK: every write A acknowledged survived/m);
  }, 50_000);
});
