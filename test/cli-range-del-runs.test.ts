// `strata verify` on a sound store whose levels hold runs of range tombstones alone (no data
// blocks: docs/FORMAT.md, "Range-del block"). inspect read such a run's key range from its
// (absent) data blocks, as empty … empty, and reported every pair of them in a level as
// overlapping: exit status 1, damage that is not there. A run's range, as the engine keeps
// levels disjoint, counts its tombstones (a tombstone's end is exclusive).
import { describe, it, expect, afterAll, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, codecs } from 'strata-kv';
import { main } from '../bindings/cli/cli.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const pad = (i: number) => `key${String(i).padStart(5, '0')}`;

async function verify(dir: string): Promise<{ status: number; report: { problems: string[]; runs: { level: number; entries: number; smallestKey: string; largestKey: string }[] } }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  try {
    const status = await main(['verify', dir, '--json']);
    return { status, report: JSON.parse(out.join('\n')) };
  } finally {
    log.mockRestore();
  }
}

describe('strata verify: runs of range tombstones alone', () => {
  it('a sound store with tombstone-only runs in a level verifies (status 0), their ranges those of their tombstones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-cli-rangedel-'));
    dirs.push(dir);
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 2048, level0CompactionTrigger: 2, levelBaseBytes: 8192, background: false });
    for (let i = 0; i < 3000; i++) s.put(pad(i), 'v'.repeat(30));
    await s.compact();
    for (let j = 0; j < 10; j++) {
      s.deleteRange(pad(j * 300), pad(j * 300 + 50));
      await s.flush();
    }
    await s.close();
    const { status, report } = await verify(dir);
    const alone = report.runs.filter((r) => r.entries === 0);
    expect(alone.filter((r) => r.level >= 1).length).toBeGreaterThan(1); // what the case is about
    expect(report.problems).toEqual([]);
    expect(status).toBe(0);
    const hex = (k: string) => Buffer.from(k).toString('hex');
    for (const r of alone) {
      expect(r.smallestKey).not.toBe('');
      expect(r.largestKey > r.smallestKey).toBe(true);
      expect(r.smallestKey.startsWith(hex('key'))).toBe(true);
    }
    const again = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    expect([...again.all()].length).toBe(3000 - 10 * 50);
    await again.close();
  });
});
