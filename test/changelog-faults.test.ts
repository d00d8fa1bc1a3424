// Disk faults on a store whose log is its changelog (docs/API.md, "Checkpoints"): a
// directory of checkpoints and a FileChangelog, node:fs wrapped (test/support/faulty-fs.ts)
// so that each fs call of a fixed workload (writes, flushes, checkpoints, compactions of the
// store and of the changelog) fails in turn: EIO, a disk filling up, or a torn write. After
// every call the store reads exactly the writes that returned (a failed call is a
// StrataError); after close, the reopened store is exactly what a full restore of the
// surviving changelog gives, versions included, and holds the state of some acknowledged
// write at or after the last flush or checkpoint that succeeded (sync: false loses only
// what was never flushed). fault-injection.test.ts walks a store with its own log.
import { describe, it, expect, vi } from 'vitest';
import { Store, StrataError, FileChangelog, codecs } from 'strata-kv';
import { arm, type FaultMode, type FaultOp, type FaultState } from './support/faulty-fs.js';
import { ALL_OPS, walkDirs } from './support/fault-walk.js';

const faults = vi.hoisted(() => ({ plan: undefined, calls: 0, paused: false, hits: [] as string[] }) as FaultState);
vi.mock('node:fs', async (importOriginal) => {
  const { wrapFs } = await import('./support/faulty-fs.js');
  return wrapFs(await importOriginal<typeof import('node:fs')>(), faults);
});
const freshDir = walkDirs(faults, 'strata-clfaults-');
const TUNING = { memtableBytes: 4096, blockBytes: 512, level0CompactionTrigger: 2, levelBaseBytes: 8192, background: false };

type Op = { t: 'put'; k: string; v: string } | { t: 'putAll'; kvs: [string, string][] } | { t: 'delete'; k: string } | { t: 'flush' } | { t: 'checkpoint' } | { t: 'compact' } | { t: 'logCompact' };
/** A fixed workload of every kind of call, seeded (a linear congruential generator). */
function workload(): Op[] {
  const ops: Op[] = [];
  let r = 7;
  const rnd = (n: number) => { r = (r * 1103515245 + 12345) & 0x7fffffff; return r % n; };
  for (let i = 0; i < 60; i++) {
    const c = rnd(20);
    const k = `k${String(rnd(30)).padStart(2, '0')}`;
    const v = 'v'.repeat(rnd(300)) + i;
    if (c < 10) ops.push({ t: 'put', k, v });
    else if (c < 13) ops.push({ t: 'putAll', kvs: [[k, v], [`k${String(rnd(30)).padStart(2, '0')}`, v]] });
    else if (c < 15) ops.push({ t: 'delete', k });
    else if (c < 17) ops.push({ t: 'flush' });
    else if (c < 18) ops.push({ t: 'checkpoint' });
    else if (c < 19) ops.push({ t: 'compact' });
    else ops.push({ t: 'logCompact' });
  }
  return ops;
}
const enc = (m: Map<string, string>) => JSON.stringify([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

async function run(sync: boolean, fault: { ops: FaultOp[]; at: number; mode: FaultMode } | undefined): Promise<{ hits: number; failed: boolean }> {
  const sdir = freshDir(), ldir = freshDir();
  arm(faults, undefined);
  const log = new FileChangelog(ldir, { sync });
  const s = await Store.open<string, string>({ path: sdir, changelog: log, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
  const model = new Map<string, string>();
  const states: string[] = [enc(model)];
  let durableFrom = 0; // index into states: reopen must give a state at or after this
  arm(faults, fault);
  let failed = false;
  for (const op of workload()) {
    let err: unknown;
    try {
      switch (op.t) {
        case 'put': s.put(op.k, op.v); break;
        case 'putAll': s.putAll(op.kvs); break;
        case 'delete': s.delete(op.k); break;
        case 'flush': await s.flush(); break;
        case 'checkpoint': await s.checkpoint(); break;
        case 'compact': await s.compact(); break;
        case 'logCompact': await log.compact(); break;
      }
    } catch (e) { err = e; }
    await Promise.resolve();
    faults.paused = true;
    if (err !== undefined) {
      if (!(err instanceof StrataError)) throw new Error(`${op.t}: non-StrataError ${String(err)}`, { cause: err });
      failed = true;
    } else {
      if (op.t === 'put') model.set(op.k, op.v);
      if (op.t === 'putAll') for (const [k, v] of op.kvs) model.set(k, v);
      if (op.t === 'delete') model.delete(op.k);
      if (op.t === 'put' || op.t === 'putAll' || op.t === 'delete') states.push(enc(model));
      if (op.t === 'flush' || op.t === 'checkpoint') durableFrom = states.length - 1;
    }
    expect(enc(new Map(s.all())), `after ${op.t} (${err === undefined ? 'ok' : (err as StrataError).code})`).toBe(enc(model));
    faults.paused = false;
  }
  const hits = faults.hits.length;
  arm(faults, undefined);
  let closeErr: unknown;
  await s.close().catch((e) => { closeErr = e; });
  if (closeErr !== undefined) expect(closeErr).toBeInstanceOf(StrataError);
  else durableFrom = states.length - 1;
  await log.close().catch(() => {});
  const log2 = new FileChangelog(ldir, { sync });
  const fromLog = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
  await fromLog.restore(log2.read(0));
  const r = await Store.open<string, string>({ path: sdir, changelog: log2, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
  const got = enc(new Map(r.all()));
  expect(got, 'reopen = restore of the changelog').toBe(enc(new Map(fromLog.all())));
  for (const [k] of r.all()) expect(r.getVersioned(k)?.version, `version of ${k}`).toBe(fromLog.getVersioned(k)?.version);
  const at = states.lastIndexOf(got);
  expect(at, `reopen is a state of acknowledged writes at or after the last durable point ${durableFrom} (hits ${faults.hits})`).toBeGreaterThanOrEqual(durableFrom);
  await r.close();
  await fromLog.close();
  return { hits, failed: failed || closeErr !== undefined };
}

/** How many calls of the plan's operations the workload makes (the failure points). */
async function countCalls(sync: boolean): Promise<number> {
  const log = new FileChangelog(freshDir(), { sync });
  const s = await Store.open<string, string>({ path: freshDir(), changelog: log, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING });
  arm(faults, { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
  for (const op of workload()) {
    if (op.t === 'put') s.put(op.k, op.v); else if (op.t === 'putAll') s.putAll(op.kvs); else if (op.t === 'delete') s.delete(op.k);
    else if (op.t === 'flush') await s.flush(); else if (op.t === 'checkpoint') await s.checkpoint(); else if (op.t === 'compact') await s.compact(); else await log.compact();
    await Promise.resolve();
  }
  const total = faults.calls;
  arm(faults, undefined);
  await s.close();
  return total;
}

describe('a store on a FileChangelog, each fs call failing in turn', () => {
  for (const sync of [false, true]) {
    it(`FileChangelog sync: ${sync}: each call failing, torn or filling the disk`, async () => {
      expect((await run(sync, undefined)).failed).toBe(false);
      const total = await countCalls(sync);
      expect(total).toBeGreaterThan(100);
      const modes: FaultMode[] = ['fail', 'full', 'tear'];
      let failures = 0;
      for (let at = 1; at <= total; at++) {
        const o = await run(sync, { ops: ALL_OPS, at, mode: modes[at % 3] });
        expect(o.hits, `call ${at} was reached`).toBeGreaterThan(0);
        if (o.failed) failures++;
      }
      expect(failures).toBeGreaterThan(total / 2);
    }, 300_000);
  }
});
