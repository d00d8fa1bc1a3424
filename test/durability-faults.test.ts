// A failing file system: node:fs is wrapped so that chosen calls fail with ENOSPC or EIO.
// A failed write is IO_ERROR; the store then stays readable, refuses further writes with
// IO_ERROR, closes with IO_ERROR (durability is in doubt, so close says so) and reopens with
// every write acknowledged before the failure and none that was refused.
import { describe, it, expect, vi, afterAll } from 'vitest';
import * as realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs } from 'strata-kv';

const faults = vi.hoisted(() => new Map<string, string>());
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const failing = <F extends (...a: any[]) => any>(name: string, fn: F) => ((...args: Parameters<F>) => {
    const code = faults.get(name);
    if (code) throw Object.assign(new Error(`${code}: injected fault in ${name}`), { code });
    return fn(...args);
  }) as F;
  const wrapped = {
    ...real,
    writeSync: failing('writeSync', real.writeSync),
    fsyncSync: failing('fsyncSync', real.fsyncSync),
    fdatasyncSync: failing('fdatasyncSync', real.fdatasyncSync),
    openSync: failing('openSync', real.openSync),
    renameSync: failing('renameSync', real.renameSync),
  };
  return { ...wrapped, default: wrapped };
});

const dirs: string[] = [];
const freshDir = () => { const d = realFs.mkdtempSync(join(tmpdir(), 'strata-faults-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) realFs.rmSync(d, { recursive: true, force: true }); });

// Compactions and run files on this thread (background: false), where node:fs is wrapped:
// the file worker's and the compaction worker's calls fail in fault-injection.test.ts,
// which runs them on this thread when scheduled.
const open = (path: string, extra: object = {}) =>
  Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, background: false, ...extra });

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) { if (err instanceof StrataError) return err.code; throw err; }
  return 'no error';
}

describe('a failing file system', () => {
  it('ENOSPC on a sync write: IO_ERROR, reads go on, writes refused, reopen has all acknowledged writes', async () => {
    const dir = freshDir();
    const s = await open(dir, { sync: true });
    for (let i = 0; i < 50; i++) s.put(`k${i}`, `v${i}`);
    faults.set('writeSync', 'ENOSPC');
    expect(codeOf(() => s.put('lost', 'x'))).toBe('IO_ERROR');
    faults.clear();
    expect(s.get('k7')).toBe('v7');
    expect(s.has('lost')).toBe(false); // logged first, so a failed log means not applied
    expect(codeOf(() => s.put('later', 'y'))).toBe('IO_ERROR'); // read-only until reopened
    expect([...s.all()].length).toBe(50);
    await expect(s.close()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const r = await open(dir);
    expect([...r.all()].length).toBe(50);
    expect(r.has('lost')).toBe(false);
    expect(r.get('k49')).toBe('v49');
    r.put('after', 'z');
    await r.close();
  });

  it('EIO on fsync during flush(): IO_ERROR, and the store reopens with what was durable', async () => {
    const dir = freshDir();
    const s = await open(dir, { memtableBytes: 1 << 20 });
    s.putAll([['a', '1'], ['b', '2']]);
    await s.flush();
    s.put('c', '3');
    faults.set('fsyncSync', 'EIO');
    let code = '';
    try { await s.flush(); } catch (err) { code = (err as StrataError).code; }
    faults.clear();
    expect(code).toBe('IO_ERROR');
    expect(s.get('c')).toBe('3');
    await expect(s.close()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const r = await open(dir);
    expect(r.get('a')).toBe('1');
    expect(r.get('b')).toBe('2');
    await r.close();
  });

  it('ENOSPC while an automatic flush writes a run file: the write that drove it is committed, the next is refused, reopen has exactly the acknowledged writes', async () => {
    const dir = freshDir();
    const s = await open(dir, { sync: true, memtableBytes: 4096 });
    const seen: string[] = [];
    s.onChange((records) => { for (const r of records) seen.push(Buffer.from(r.key).toString()); });
    let i = 0;
    let code = '';
    faults.set('renameSync', 'ENOSPC'); // the manifest replace of the first flush fails
    try {
      for (; i < 1000; i++) s.put(`k${String(i).padStart(4, '0')}`, 'v'.repeat(50));
    } catch (err) { code = (err as StrataError).code; }
    faults.clear();
    expect(code).toBe('IO_ERROR');
    expect(i).toBeGreaterThan(10);
    expect(s.get('k0000')).toBe('v'.repeat(50));
    // Every write that returned was applied and reported; the refused one neither.
    expect(seen.length).toBe(i);
    expect(s.has(`k${String(i).padStart(4, '0')}`)).toBe(false);
    await expect(s.close()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const r = await open(dir);
    expect([...r.all()].length).toBe(i);
    await r.close();
  });

  it('after a run file fails mid-write, close() rejects and leaves no descriptor open (#14.10)', async () => {
    const fds = () => realFs.readdirSync('/proc/self/fd').length;
    for (const sync of [false, true]) {
      const dir = freshDir();
      const before = fds();
      const s = await open(dir, { sync, memtableBytes: 64 << 10 });
      faults.set('fdatasyncSync', 'EIO'); // a run file's first slice fails: its writer is mid-file
      let i = 0;
      try { for (; i < 100_000; i++) s.put(`k${i}`, 'v'.repeat(60)); } catch (err) { expect((err as StrataError).code).toBe('IO_ERROR'); }
      faults.clear();
      expect(i).toBeLessThan(100_000);
      await expect(s.close()).rejects.toMatchObject({ code: 'IO_ERROR' });
      expect(fds()).toBe(before);
      const r = await open(dir);
      expect([...r.all()].length).toBe(i);
      await r.close();
    }
  });
});
