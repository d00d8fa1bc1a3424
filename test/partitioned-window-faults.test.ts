// Disk faults under the stores built on Store: PartitionedStore (N directories plus
// `partitioning`) and WindowStore/SessionStore. node:fs is wrapped (test/support/faulty-fs.ts)
// and each fs call of a whole life (open, writes with sync, stats, flush, close) fails in
// turn, tears or fills the disk. Every call must return or throw a StrataError; a clean
// reopen afterwards must open (not LOCKED, not CORRUPTION) and hold every acknowledged write,
// plus at most the write that failed (its bytes may have reached the disk).
import { describe, it, expect, vi } from 'vitest';
import { PartitionedStore, WindowStore, SessionStore, StrataError, codecs } from 'strata-kv';
import { arm, type FaultMode, type FaultOp, type FaultState } from './support/faulty-fs.js';
import { ALL_OPS, walkDirs } from './support/fault-walk.js';

const faults = vi.hoisted(() => ({ plan: undefined, calls: 0, paused: false, hits: [] as string[] }) as FaultState);
vi.mock('node:fs', async (importOriginal) => {
  const { wrapFs } = await import('./support/faulty-fs.js');
  return wrapFs(await importOriginal<typeof import('node:fs')>(), faults);
});

const freshDir = walkDirs(faults, 'strata-pwfaults-');
const TUNING = { memtableBytes: 2048, level0CompactionTrigger: 2, background: false, sync: true };
const enc = (m: Map<string, string>) => JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** What a store kind looks like to the walk: open, one write (i), flush, stats, close, and its content. */
interface Kind {
  name: string;
  open(dir: string): Promise<unknown>;
  write(s: unknown, i: number, m: Map<string, string>): void;
  content(s: unknown): Map<string, string>;
  flush(s: unknown): Promise<void>;
  stats(s: unknown): unknown;
  close(s: unknown): Promise<void>;
  /** Which fs calls the walk fails: every `stride`-th (time). */
  stride: number;
}

const partitioned: Kind = {
  name: 'PartitionedStore',
  open: (dir) => PartitionedStore.open<string, string>({ path: dir, partitions: 2, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING }),
  write: (s, i, m) => {
    const k = `k${i % 11}`;
    if (i % 5 === 4) { (s as PartitionedStore<string, string>).delete(k); m.delete(k); return; }
    const v = 'v'.repeat(i % 60) + i;
    (s as PartitionedStore<string, string>).put(k, v);
    m.set(k, v);
  },
  content: (s) => new Map((s as PartitionedStore<string, string>).all()),
  flush: (s) => (s as PartitionedStore<string, string>).flush(),
  stats: (s) => (s as PartitionedStore<string, string>).stats(),
  close: (s) => (s as PartitionedStore<string, string>).close(),
  stride: 5,
};

const windows: Kind = {
  name: 'WindowStore',
  open: (dir) => WindowStore.open<string, string>({ path: dir, windowMs: 10, retentionMs: 1000, segmentMs: 250, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING }),
  write: (s, i, m) => {
    const k = `k${i % 7}`, t = (i % 9) * 10; // stays within retention: nothing expires
    const v = 'w'.repeat(i % 60) + i;
    (s as WindowStore<string, string>).put(k, t, v);
    m.set(`${k}@${t}`, v);
  },
  content: (s) => new Map([...(s as WindowStore<string, string>).all()].map((e) => [`${e.key}@${e.windowStart}`, e.value])),
  flush: (s) => (s as WindowStore<string, string>).flush(),
  stats: (s) => (s as WindowStore<string, string>).stats(),
  close: (s) => (s as WindowStore<string, string>).close(),
  stride: 1,
};

const sessions: Kind = {
  name: 'SessionStore',
  open: (dir) => SessionStore.open<string, string>({ path: dir, retentionMs: 1000, segmentMs: 250, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TUNING }),
  write: (s, i, m) => {
    const k = `k${i % 7}`, start = (i % 9) * 10, end = start + (i % 3);
    const v = 's'.repeat(i % 60) + i;
    (s as SessionStore<string, string>).put(k, start, end, v);
    m.set(`${k}@${start}-${end}`, v);
  },
  content: (s) => new Map([...(s as SessionStore<string, string>).all()].map((e) => [`${e.key}@${e.start}-${e.end}`, e.value])),
  flush: (s) => (s as SessionStore<string, string>).flush(),
  stats: (s) => (s as SessionStore<string, string>).stats(),
  close: (s) => (s as SessionStore<string, string>).close(),
  stride: 1,
};

const WRITES = 40;

/** One life of the store under `fault`; returns how many fault-counted calls it made. */
async function life(kind: Kind, fault: { ops: FaultOp[]; at: number; mode: FaultMode }): Promise<number> {
  arm(faults, undefined);
  const dir = freshDir();
  const model = new Map<string, string>();
  let pending: Map<string, string> | undefined; // the state with the write that failed
  const what = () => `${kind.name}: ${fault.mode} at ${fault.at} (hits: ${faults.hits.join(', ')})`;
  const strata = (err: unknown) => { expect(err, `${what()}: ${String(err)}`).toBeInstanceOf(StrataError); };
  arm(faults, fault);
  let s: unknown;
  try { s = await kind.open(dir); } catch (err) { strata(err); }
  if (s !== undefined) {
    for (let i = 0; i < WRITES; i++) {
      const next = new Map(model);
      try { kind.write(s, i, next); } catch (err) { strata(err); pending ??= next; continue; }
      model.clear();
      for (const [k, v] of next) model.set(k, v);
      if (i % 10 === 9) await kind.flush(s).catch(strata);
      try { kind.stats(s); } catch (err) { strata(err); }
    }
    await kind.close(s).catch(strata);
  }
  const calls = faults.calls, hits = [...faults.hits];
  arm(faults, undefined);
  faults.hits.push(...hits); // for what()
  let again: unknown;
  try { again = await kind.open(dir); } catch (err) { throw new Error(`${what()}: the clean reopen failed: ${String(err)}`, { cause: err }); }
  try {
    const got = enc(kind.content(again));
    if (got !== enc(model)) expect(got, `${what()}: acknowledged writes, or those and the failed one`).toBe(enc(pending ?? model));
    kind.write(again, 1, model);
  } finally {
    await kind.close(again);
  }
  return calls;
}

describe('disk faults under PartitionedStore, WindowStore and SessionStore', () => {
  for (const kind of [partitioned, windows, sessions]) {
    it(`${kind.name}: each fs call of a life failing, torn or filling the disk`, async () => {
      const calls = await life(kind, { ops: ALL_OPS, at: Number.POSITIVE_INFINITY, mode: 'fail' });
      expect(calls).toBeGreaterThan(50);
      // Every call (PartitionedStore, with twice the calls: every fifth) for 'fail'; a spread
      // of calls for the other modes (time).
      for (let at = 1; at <= calls; at += kind.stride) await life(kind, { ops: ALL_OPS, at, mode: 'fail' });
      for (const fm of ['full', 'tear'] as const) {
        for (let at = 1; at <= calls; at += 7 * kind.stride) await life(kind, { ops: ALL_OPS, at, mode: fm });
      }
    }, 60_000);
  }
});
