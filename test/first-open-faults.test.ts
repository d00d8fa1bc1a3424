// The first open of a fresh directory creates its log, then writes its first MANIFEST. A disk
// fault (or a crash) between the two left a directory holding an empty 000001.wal and no
// MANIFEST, which every later open refused as CORRUPTION ("has 000001.wal but no MANIFEST"):
// a directory that never opened again, though it never held a write. An empty log holds
// nothing to lose; a log with records, or a run file, without a MANIFEST is still damage.
import { describe, it, expect, vi } from 'vitest';
import * as realFs from 'node:fs';
import { join } from 'node:path';
import { Store, StrataError } from 'strata-kv';
import { main } from '../bindings/cli/cli.js';
import { arm, type FaultState } from './support/faulty-fs.js';
import { ALL_OPS, walkDirs } from './support/fault-walk.js';

const faults = vi.hoisted(() => ({ plan: undefined, calls: 0, paused: false, hits: [] as string[] }) as FaultState);
vi.mock('node:fs', async (importOriginal) => {
  const { wrapFs } = await import('./support/faulty-fs.js');
  return wrapFs(await importOriginal<typeof import('node:fs')>(), faults);
});

const freshDir = walkDirs(faults, 'strata-firstopen-');

async function verifyStatus(dir: string): Promise<number> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  try { return await main(['verify', dir]); } finally { log.mockRestore(); error.mockRestore(); }
}

describe('a fault during the first open of a fresh directory', () => {
  it('each fs call of the first open failing: a clean open afterwards succeeds and the store works', async () => {
    arm(faults, { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
    await (await Store.open({ path: freshDir(), sync: true })).close();
    const calls = faults.calls;
    expect(calls).toBeGreaterThan(10);
    for (let at = 1; at <= calls; at++) {
      const dir = freshDir();
      arm(faults, { ops: ALL_OPS, at, mode: 'fail' });
      let failed: unknown;
      try { await (await Store.open({ path: dir, sync: true })).close(); } catch (err) { failed = err; }
      const what = `fail at ${at} (${faults.hits.join(', ')}), leaving ${realFs.readdirSync(dir).join(' ')}`;
      arm(faults, undefined);
      if (failed !== undefined) expect(failed, what).toBeInstanceOf(StrataError);
      // No damage reported: status 0, or 2 where the open stopped before writing anything
      // a store writes (the directory then holds no store).
      const storeFiles = realFs.readdirSync(dir).some((n) => /^(MANIFEST|\d{6,}\.(run|wal))$/.test(n));
      expect(await verifyStatus(dir), what).toBe(storeFiles ? 0 : 2);
      const s = await Store.open({ path: dir }).catch((err: unknown) => { throw new Error(`${what}: ${String(err)}`); });
      s.put(new Uint8Array([1]), new Uint8Array([2]));
      await s.close();
      const again = await Store.open({ path: dir });
      expect(again.get(new Uint8Array([1])), what).toEqual(new Uint8Array([2]));
      await again.close();
    }
  }, 30_000);

  it('a log with records and no MANIFEST is still CORRUPTION (and a verify problem)', async () => {
    arm(faults, undefined);
    const dir = freshDir();
    const s = await Store.open({ path: dir, sync: true });
    s.put(new Uint8Array([1]), new Uint8Array([2]));
    const image = freshDir();
    for (const n of realFs.readdirSync(dir)) if (n.endsWith('.wal')) realFs.copyFileSync(join(dir, n), join(image, n));
    await s.close();
    expect(realFs.statSync(join(image, realFs.readdirSync(image)[0])).size).toBeGreaterThan(0);
    await expect(Store.open({ path: image })).rejects.toMatchObject({ code: 'CORRUPTION' });
    expect(await verifyStatus(image)).toBe(1);
  });
});
