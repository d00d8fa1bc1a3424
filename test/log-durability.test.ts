// Regression (found reviewing #14): "A restore resolves once it is durable" (docs/API.md). With sync: false a
// restore larger than a memtable rotates the log (capture() seals the old one: written, not
// fsynced), and disk.flush() at the end of restoreRecords() fsyncs only the active log, so a
// retired log still named by the MANIFEST (its records above flushedSeq) holds restored
// records that were never fsynced when restore() resolves.
import { describe, it, expect, vi, afterAll } from 'vitest';
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs, type ChangeRecord } from 'strata-kv';
import { readManifest } from '../bindings/storage/manifest.js';

const track = vi.hoisted(() => ({ fdPath: new Map<number, string>(), dirty: new Set<string>() }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const clean = (fd: number) => { const p = track.fdPath.get(fd); if (p) track.dirty.delete(p); };
  const w = {
    ...real,
    openSync: ((p: any, ...rest: any[]) => { const fd = (real.openSync as any)(p, ...rest); track.fdPath.set(fd, String(p)); return fd; }) as typeof real.openSync,
    writeSync: ((fd: number, ...rest: any[]) => { const n = (real.writeSync as any)(fd, ...rest); const p = track.fdPath.get(fd); if (p) track.dirty.add(p); return n; }) as typeof real.writeSync,
    fsyncSync: ((fd: number) => { real.fsyncSync(fd); clean(fd); }) as typeof real.fsyncSync,
    fdatasyncSync: ((fd: number) => { real.fdatasyncSync(fd); clean(fd); }) as typeof real.fdatasyncSync,
    closeSync: ((fd: number) => { real.closeSync(fd); track.fdPath.delete(fd); }) as typeof real.closeSync,
    unlinkSync: ((p: any) => { real.unlinkSync(p); track.dirty.delete(String(p)); }) as typeof real.unlinkSync,
    ftruncateSync: ((fd: number, len?: number) => { real.ftruncateSync(fd, len); const p = track.fdPath.get(fd); if (p) track.dirty.add(p); }) as typeof real.ftruncateSync,
  };
  return { ...w, default: w };
});

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) realFs.rmSync(d, { recursive: true, force: true }); });

describe('restore durability (sync: false)', () => {
  it('when restore() resolves, every log the MANIFEST still needs has been fsynced', async () => {
    const path = realFs.mkdtempSync(join(tmpdir(), 'strata-review-restore-')); dirs.push(path);
    const s = await Store.open({ path, memtableBytes: 64 << 10 });
    const enc = new TextEncoder();
    const records: ChangeRecord[] = [];
    for (let i = 1; i <= 20000; i++) records.push({ partition: 0, seq: i, key: enc.encode(`k${String(i).padStart(7, '0')}`), value: enc.encode('v'.repeat(100)) });
    await s.restore(records, { chunkRecords: 20 } as object); // small chunks (an internal option): many log records
    const m = readManifest(path)!;
    const needed = realFs.readdirSync(path).filter((n) => /^\d+\.wal$/.test(n) && Number.parseInt(n, 10) >= m.log && realFs.statSync(join(path, n)).size > 0);
    const unsynced = needed.filter((n) => track.dirty.has(join(path, n)));
    await s.close();
    expect(unsynced).toEqual([]); // before: a retired log with restored records was never fsynced
  });

  it('sync: true, a sink refuses: the record was fsynced, the cut-back is not: a power loss brings the refused write back', async () => {
    const path = realFs.mkdtempSync(join(tmpdir(), 'strata-review-undo-')); dirs.push(path);
    let refuse = false;
    const s = await Store.open<string, string>({ path, sync: true, keyCodec: codecs.utf8, valueCodec: codecs.utf8, restoreFrom: false,
      changelog: { append: () => { if (refuse) throw new StrataError('IO_ERROR', 'sink down'); } } });
    s.put('a', '1'); // returns: durable
    const wal = realFs.readdirSync(path).filter((n) => n.endsWith('.wal')).map((n) => join(path, n));
    expect(wal.filter((f) => track.dirty.has(f))).toEqual([]);
    refuse = true;
    expect(() => s.put('b', '2')).toThrow(StrataError); // refused: must not come back after any crash
    const dirty = wal.filter((f) => track.dirty.has(f));
    await s.close().catch(() => {});
    // The refused record is durable in the log (fsynced by append) and its removal is not.
    expect(dirty).toEqual([]); // before the fix: undo() truncates without an fsync
  });
});
