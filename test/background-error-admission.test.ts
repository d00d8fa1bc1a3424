// Regression (found reviewing #14): the memcap merge's admit()/catchUp() can latch the background error inside
// prepare_batch and still return OK; write_batch (which prepares again) is then refused, after
// the sinks took the write. The store throws, but the changelog holds a write it never applied.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, codecs, StrataError, type ChangeRecord } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-review-latch-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const key = (i: number) => `key${String(i).padStart(6, '0')}`;
const value = (i: number) => `value-${i}-${'x'.repeat(i % 23)}`;
const TUNING = { memtableBytes: 32 << 10, blockBytes: 1024 };

async function damagedStore(n: number): Promise<string> {
  const dir = freshDir();
  const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
  for (let i = 0; i < n; i++) s.put(key(i), value(i));
  await s.close();
  for (const run of readdirSync(dir).filter((f) => f.endsWith('.run'))) {
    const bytes = readFileSync(join(dir, run));
    bytes[1500] ^= 0x40; // every run: whatever compaction catchUp() runs meets damage
    writeFileSync(join(dir, run), bytes);
  }
  return dir;
}

describe('background-error latch vs admission (memcap merge)', () => {
  it('a write whose catching up meets damage is refused before any sink takes it', async () => {
    const base = await damagedStore(3000);
    const CAP = 2 << 20;
    let found: { size: number; err: string; sunk: number; applied: boolean } | undefined;
    const outcomes: string[] = [];
    for (let size = 4096; size < CAP && !found; size += 4096) {
      const dir = freshDir();
      cpSync(base, dir, { recursive: true });
      const sunk: ChangeRecord[] = [];
      const s = await Store.open<string, string>({
        path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, maxMemoryBytes: CAP, ...TUNING, level0CompactionTrigger: 2,
        changelog: { append: (rs: ChangeRecord[]) => { sunk.push(...rs); } }, restoreFrom: false,
      });
      let err: unknown;
      try { s.put('zzz', 'v'.repeat(size)); } catch (e) { err = e; }
      const code = err === undefined ? 'OK' : err instanceof StrataError ? err.code : String(err);
      if (outcomes[outcomes.length - 1] !== code) outcomes.push(code);
      let applied = false;
      try { applied = s.get('zzz') !== undefined; } catch { /* damaged read */ }
      await s.close().catch(() => {});
      if (err !== undefined && sunk.length > 0) {
        // The consequence: the store reuses the refused write's sequence for its next write,
        // so the changelog holds two records with one seq (a restore refuses it).
        const t = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING,
          changelog: { append: (rs: ChangeRecord[]) => { sunk.push(...rs); } }, restoreFrom: false });
        try { t.put('after', 'y'); } catch { /* refused cleanly: then no duplicate */ }
        await t.close().catch(() => {});
        found = { size, err: String(err), sunk: sunk.length, applied, seqs: sunk.map((r) => r.seq) } as any;
      }
      rmSync(dir, { recursive: true, force: true });
      if (code === 'OUT_OF_MEMORY') break;
    }
    // The contract: a write that throws reached no sink. Before the fix: the sink holds a refused write.
    expect(found).toBeUndefined();
    // And the path was taken: some write's catching up met the damage and was refused by it.
    expect(outcomes).toContain('CORRUPTION');
  });
});
