// Regression (found reviewing #14): Persistence.close() after an I/O failure "still writes out every log a durable
// manifest does not cover (best effort)" (docs/LSM.md). The loop over the logs is one try: the
// first log whose flush fails ends it, so the logs after it (the active one, with buffered
// acknowledged writes) are never written out, though their own writes would have succeeded.
import { describe, it, expect, vi, afterAll } from 'vitest';
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs } from 'strata-kv';
import { arm, type FaultState } from './support/faulty-fs.js';

const faults = vi.hoisted(() => ({ plan: undefined, calls: 0, paused: false, hits: [] as string[] }) as FaultState);
vi.mock('node:fs', async (importOriginal) => {
  const { wrapFs } = await import('./support/faulty-fs.js');
  return wrapFs(await importOriginal<typeof import('node:fs')>(), faults);
});
const dirs: string[] = [];
afterAll(() => { arm(faults, undefined); for (const d of dirs) realFs.rmSync(d, { recursive: true, force: true }); });
const TUNING = { memtableBytes: 4096, blockBytes: 512, level0CompactionTrigger: 2, levelBaseBytes: 8192 };

describe('close() after an I/O failure', () => {
  it('writes out the active log even when an earlier retired log fails to flush', async () => {
    let demonstrated = false;
    for (let at = 1; at <= 40 && !demonstrated; at++) {
      const path = realFs.mkdtempSync(join(tmpdir(), 'strata-review-close-')); dirs.push(path);
      arm(faults, undefined);
      const s = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
      const acked = new Map<string, string>();
      for (let i = 0; i < 200; i++) { s.put(`a${i}`, 'x'.repeat(40)); acked.set(`a${i}`, 'x'.repeat(40)); }
      // A run file (or log) create fails in the background work a write drives: read-only.
      arm(faults, { ops: ['open'], at, mode: 'fail' });
      for (let i = 0; i < 2000; i++) {
        try { s.put(`b${i}`, `v${i}`); acked.set(`b${i}`, `v${i}`); } catch { break; }
      }
      const disk = (s as any).disk;
      const retired = disk.retiredLogs as any[];
      const active = disk.wal;
      const pending = active?.buffer?.pending ?? 0;
      const usable = faults.hits.length > 0 && retired.length > 0 && retired[0] !== active && pending > 0;
      // The first retired log's fsync fails at close (one transient EIO).
      arm(faults, usable ? { ops: ['fsync'], at: 1, mode: 'fail' } : undefined);
      const closed = await s.close().then(() => 'resolved', (e) => (e instanceof StrataError ? e.code : String(e)));
      arm(faults, undefined);
      if (!usable) continue;
      expect(closed).toBe('IO_ERROR');
      const again = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
      const missing = [...acked.keys()].filter((k) => again.get(k) !== acked.get(k));
      await again.close();
      demonstrated = true;
      expect(missing).toEqual([]); // before the fix: the active log's buffered acknowledged writes were never written
    }
    expect(demonstrated).toBe(true);
  });
});
