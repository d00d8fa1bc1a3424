// Disk faults during close() and the reopen after it: node:fs wrapped
// (test/support/faulty-fs.ts) so that each fs call a close() makes fails in turn (EIO, a
// disk filling up, a torn write). fault-injection.test.ts and changelog-faults.test.ts walk
// the calls of a workload but close with the faults disarmed. Here the workload runs clean
// and only close() meets the fault. close() must then resolve or reject with a StrataError.
// If it resolves, a clean reopen holds every acknowledged write. If it rejects, the reopen
// holds the state of some acknowledged write at or after the last flush. Either way the
// directory can be opened again (not LOCKED, not CORRUPTION). Before the fix in
// lock-file.ts, a failed read or unlink of the LOCK at release left a LOCK naming this
// process, and every later open of the directory in this process was LOCKED.
import { describe, it, expect, vi } from 'vitest';
import * as realFs from 'node:fs';
import { Store, StrataError, FileChangelog, codecs } from 'strata-kv';
import { copyCrashImage } from './support/crash-image.js';
import { arm, type FaultMode, type FaultOp, type FaultState } from './support/faulty-fs.js';
import { ALL_OPS, walkDirs } from './support/fault-walk.js';

const faults = vi.hoisted(() => ({ plan: undefined, calls: 0, paused: false, hits: [] as string[] }) as FaultState);
vi.mock('node:fs', async (importOriginal) => {
  const { wrapFs } = await import('./support/faulty-fs.js');
  return wrapFs(await importOriginal<typeof import('node:fs')>(), faults);
});

const freshDir = walkDirs(faults, 'strata-closefaults-');
const TUNING = { memtableBytes: 4096, blockBytes: 512, level0CompactionTrigger: 2, levelBaseBytes: 8192, background: false };
const utf8 = { keyCodec: codecs.utf8, valueCodec: codecs.utf8 };
type Mode = 'log' | 'changelog';
const enc = (m: Map<string, string>) => JSON.stringify([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** A seeded workload; returns the states after each write and the index of the last flush. */
async function workload(s: Store<string, string>): Promise<{ states: string[]; durableFrom: number; model: Map<string, string> }> {
  const model = new Map<string, string>();
  const states = [enc(model)];
  let durableFrom = 0;
  let r = 11;
  const rnd = (n: number) => { r = (r * 1103515245 + 12345) & 0x7fffffff; return r % n; };
  for (let i = 0; i < 80; i++) {
    const k = `k${String(rnd(25)).padStart(2, '0')}`;
    const c = rnd(10);
    if (c < 6) { const v = 'v'.repeat(rnd(200)) + i; s.put(k, v); model.set(k, v); }
    else if (c < 8) { s.delete(k); model.delete(k); }
    else if (c < 9) { const v = `w${i}`; s.putAll([[k, v], ['k99', v]]); model.set(k, v); model.set('k99', v); }
    else { await s.flush(); durableFrom = states.length - 1; continue; }
    states.push(enc(model));
  }
  return { states, durableFrom, model };
}

/** Opens the store (and its FileChangelog); a failed open closes the changelog it made. */
async function openStore(mode: Mode, sdir: string, ldir: string) {
  const log = mode === 'changelog' ? new FileChangelog(ldir) : undefined;
  try {
    const s = await Store.open<string, string>({ path: sdir, ...utf8, ...TUNING, ...(log ? { changelog: log } : {}) });
    return { s, log };
  } catch (err) {
    await log?.close().catch(() => {});
    throw err;
  }
}

async function closeWithFault(mode: Mode, fault: { ops: FaultOp[]; at: number; mode: FaultMode } | undefined): Promise<{ hits: number; calls: number }> {
  arm(faults, undefined);
  const sdir = freshDir(), ldir = freshDir();
  const { s } = await openStore(mode, sdir, ldir);
  const { states, durableFrom, model } = await workload(s);
  arm(faults, fault ?? { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
  let closeErr: unknown;
  await s.close().catch((e) => { closeErr = e; });
  const hits = faults.hits.length, calls = faults.calls;
  const what = `${mode} ${fault === undefined ? 'no fault' : `${fault.mode} at ${fault.at}`} (hits: ${faults.hits.join(', ')})`;
  arm(faults, undefined);
  if (closeErr !== undefined) expect(closeErr, what).toBeInstanceOf(StrataError);
  if (hits === 0) expect(closeErr, what).toBeUndefined();
  let r: Awaited<ReturnType<typeof openStore>>;
  try { r = await openStore(mode, sdir, ldir); } catch (err) { throw new Error(`${what}: reopen after close ${closeErr === undefined ? 'resolved' : `rejected (${String(closeErr)})`} failed: ${String(err)}`, { cause: err }); }
  try {
    const got = enc(new Map(r.s.all()));
    if (closeErr === undefined) expect(got, `${what}: close resolved`).toBe(enc(model));
    else expect(states.lastIndexOf(got), `${what}: close rejected (${String(closeErr)})`).toBeGreaterThanOrEqual(durableFrom);
    // Usable: a write and a read after the reopen.
    r.s.put('after', 'x');
    expect(r.s.get('after')).toBe('x');
  } finally {
    await r.s.close();
  }
  return { hits, calls };
}

describe('a disk fault during close()', () => {
  for (const mode of ['log', 'changelog'] as const) {
    it(`${mode === 'log' ? 'its own write-ahead log' : 'a FileChangelog as the log'}: each fs call of close() failing, torn or filling the disk`, async () => {
      const { calls } = await closeWithFault(mode, undefined);
      expect(calls).toBeGreaterThan(0);
      for (const fm of ['fail', 'full', 'tear'] as const) {
        for (let at = 1; at <= calls; at++) await closeWithFault(mode, { ops: ALL_OPS, at, mode: fm });
      }
    }, 120_000);
  }
});

describe('a disk fault while a store on a FileChangelog reopens', () => {
  it('a crash image (a checkpoint, then records only the changelog holds) opened under each fault: StrataError or exact, and a clean reopen after is exact', async () => {
    // The open loads the checkpoint, restores the changelog's records after it and checkpoints.
    arm(faults, undefined);
    const sdir = freshDir(), ldir = freshDir();
    const log = new FileChangelog(ldir, { sync: true });
    const s = await Store.open<string, string>({ path: sdir, changelog: log, ...utf8, ...TUNING });
    const { model } = await workload(s);
    await s.checkpoint();
    for (let i = 0; i < 30; i++) { const k = `k${String(i % 25).padStart(2, '0')}`; s.put(k, `tail${i}`); model.set(k, `tail${i}`); }
    s.delete('k03'); model.delete('k03');
    await log.flush(); // the changelog holds the tail; the directory's checkpoint does not
    const simage = freshDir(), limage = freshDir();
    copyCrashImage(sdir, simage);
    copyCrashImage(ldir, limage);
    await s.close();
    const copy = () => {
      const sd = freshDir(), ld = freshDir();
      realFs.cpSync(simage, sd, { recursive: true });
      realFs.cpSync(limage, ld, { recursive: true });
      return [sd, ld] as const;
    };
    const [sd0, ld0] = copy();
    arm(faults, { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
    const dry = await openStore('changelog', sd0, ld0);
    const total = faults.calls;
    arm(faults, undefined);
    expect(enc(new Map(dry.s.all()))).toBe(enc(model));
    await dry.s.close();
    expect(total).toBeGreaterThan(10);
    for (const fm of ['fail', 'full', 'tear'] as const) {
      for (let at = 1; at <= total; at++) {
        const [sd, ld] = copy();
        const what = `${fm} at call ${at}`;
        arm(faults, { ops: ALL_OPS, at, mode: fm });
        let opened: Awaited<ReturnType<typeof openStore>> | undefined;
        try { opened = await openStore('changelog', sd, ld); } catch (err) { expect(err, `open with a fault: ${what}`).toBeInstanceOf(StrataError); }
        faults.paused = true;
        if (opened) expect(enc(new Map(opened.s.all())), `opened with a fault: ${what}`).toBe(enc(model));
        arm(faults, undefined);
        await opened?.s.close().catch((err) => expect(err, what).toBeInstanceOf(StrataError));
        let r: Awaited<ReturnType<typeof openStore>>;
        try { r = await openStore('changelog', sd, ld); } catch (err) { throw new Error(`clean reopen after ${what} (hits: ${faults.hits.join(', ')}) failed (store ${sd}, changelog ${ld}): ${String(err)}`, { cause: err }); }
        expect(enc(new Map(r.s.all())), `clean reopen after ${what}`).toBe(enc(model));
        await r.s.close();
      }
    }
  }, 120_000);
});
