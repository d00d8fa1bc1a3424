// A real full disk (#14 item 3, as filed): a 2 MiB tmpfs fills under a store with
// `sync: true`. The write that meets ENOSPC must fail with IO_ERROR and change nothing: not
// visible, not told to listeners or sinks, not there after the disk grows and the store is
// reopened; every write acknowledged before it must be. Needs root to mount a tmpfs (this
// project's CI runs as root); elsewhere the test says why it does not run, and under CI=true
// a refused mount is a failure.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, FileChangelog, StrataError, codecs } from 'strata-kv';

const mountPoint = mkdtempSync(join(tmpdir(), 'strata-full-'));
let mounted = false;
let whyNot = '';
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  mounted = true;
} catch (err) {
  whyNot = `cannot mount a tmpfs at ${mountPoint} (${String((err as Error).message).split('\n')[0]})`;
  if (process.env.CI === 'true') throw new Error(`test/disk-full.test.ts: ${whyNot}; CI must run it (as root)`);
  console.warn(`test/disk-full.test.ts skipped: ${whyNot}`);
}

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) { return err instanceof StrataError ? err.code : String(err); }
  return 'no error';
}

const resize = (size: string) => execFileSync('mount', ['-o', `remount,size=${size}`, mountPoint], { stdio: 'pipe' });

describe.runIf(mounted)('a real full disk (tmpfs)', () => {
  beforeAll(() => resize('2m'));
  afterAll(() => {
    try { execFileSync('umount', [mountPoint], { stdio: 'pipe' }); } catch { /* already gone */ }
    rmSync(mountPoint, { recursive: true, force: true });
  });

  for (const withChangelog of [false, true]) {
    it(`sync: true${withChangelog ? ', with a FileChangelog sink on the same disk' : ''}: the write that meets ENOSPC is refused and nothing acknowledged is lost`, async () => {
      resize('2m');
      const dir = join(mountPoint, withChangelog ? 'with-changelog' : 'plain');
      const changelog = withChangelog ? new FileChangelog(join(mountPoint, 'changelog'), { sync: true }) : undefined;
      const s = await Store.open<string, string>({
        path: dir, sync: true, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 64 << 10,
        ...(changelog ? { changelog, restoreFrom: false } : {}),
      });
      const told: string[] = [];
      s.onChange((records) => { for (const r of records) told.push(new TextDecoder().decode(r.key)); });
      const key = (i: number) => `k${String(i).padStart(6, '0')}`;
      let acked = 0;
      let failure: unknown;
      for (; acked < 100_000; acked++) {
        try { s.put(key(acked), 'v'.repeat(1000)); } catch (err) { failure = err; break; }
      }
      expect(failure).toBeInstanceOf(StrataError);
      expect((failure as StrataError).code).toBe('IO_ERROR');
      expect(acked).toBeGreaterThan(100);
      expect(s.has(key(acked))).toBe(false);
      expect(told.length).toBe(acked);
      expect(told[told.length - 1]).toBe(key(acked - 1));
      expect(codeOf(() => s.put('after', 'x'))).toBe('IO_ERROR'); // read-only until reopened
      await expect(s.close()).rejects.toMatchObject({ code: 'IO_ERROR' });
      await changelog?.close().catch(() => {});
      resize('64m'); // room to recover in
      const r = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, restoreFrom: false });
      const keys = [...r.all()].map(([k]) => k);
      expect(keys.length).toBe(acked);
      expect(keys[keys.length - 1]).toBe(key(acked - 1));
      expect(r.getVersioned(key(acked - 1))?.version).toBe(acked);
      await r.close();
      if (changelog) {
        // FileChangelog writes after append returns and is durable at flush: on a full disk it
        // holds a prefix of the writes; the store said so (its writes and close failed).
        const again = new FileChangelog(join(mountPoint, 'changelog'));
        const keys = [...again.read(0)].map((rec) => new TextDecoder().decode(rec.key));
        expect(keys.length).toBeLessThanOrEqual(acked);
        expect(keys).toEqual(Array.from({ length: keys.length }, (_, i) => key(i)));
        await again.close();
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(join(mountPoint, 'changelog'), { recursive: true, force: true });
    });
  }

  // The file worker (bindings/storage/worker-file-tasks.ts) writes run files and manifests on
  // its own thread, where a mocked node:fs cannot reach: here a real full disk meets it. With
  // small log writes and 20 KB values, the disk fills while the worker writes a run file
  // (most runs; sometimes a log append meets it first). Without `sync`, writes are durable
  // once flush() resolves (docs/API.md): the log's buffer reaches the file at close if there
  // is room then, else the reopened store holds a prefix of the acknowledged writes.
  for (const freedBeforeClose of [true, false]) {
    it(`sync: false, the file worker writing run files: the store turns read-only; reopened, it holds ${freedBeforeClose ? 'every acknowledged write (room made before close)' : 'a prefix of the acknowledged writes (closed while full)'}`, async () => {
      resize('4m');
      const dir = join(mountPoint, 'file-worker');
      const opts = { path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 256 << 10 };
      const s = await Store.open<string, string>(opts);
      const key = (i: number) => `k${String(i).padStart(6, '0')}`;
      const value = (i: number) => `${i}:`.padEnd(20_000, String.fromCharCode(97 + (i % 26)));
      let acked = 0;
      let failure: unknown;
      for (; acked < 10_000; acked++) {
        try { s.put(key(acked), value(acked)); } catch (err) { failure = err; break; }
        if (acked % 16 === 15) await new Promise((r) => setTimeout(r, 1)); // the store hears from its worker between calls
      }
      expect((failure as StrataError | undefined)?.code).toBe('IO_ERROR');
      expect(s.stats().background?.fileTasks ?? 0).toBeGreaterThan(0); // the worker did write
      expect(codeOf(() => s.put('after', 'x'))).toBe('IO_ERROR'); // read-only until reopened
      if (freedBeforeClose) resize('64m');
      await expect(s.close()).rejects.toMatchObject({ code: 'IO_ERROR' }); // the store failed
      resize('64m');
      const r = await Store.open<string, string>(opts);
      const keys: string[] = [];
      for (const [k, v] of r.all()) { keys.push(k); expect(v).toBe(value(keys.length - 1)); }
      expect(keys).toEqual(Array.from({ length: keys.length }, (_, i) => key(i))); // a prefix, in order
      if (freedBeforeClose) expect(keys.length).toBe(acked);
      else expect(keys.length).toBeLessThanOrEqual(acked);
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);
  }
});

if (!mounted) {
  console.warn(`SKIPPED test/disk-full.test.ts, a real full disk (tmpfs): ${whyNot}`);
  describe('a real full disk (tmpfs)', () => {
    it.skip(`not run: ${whyNot}`, () => {});
  });
}
