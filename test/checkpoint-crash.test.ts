// Checkpoints under real kills: a writer process (test/fixtures/checkpoint-writer.mjs) whose
// store uses a FileChangelog as its log is SIGKILLed between the steps of a checkpoint and
// at random moments. After each kill:
//   - the directory alone (opened with restoreFrom: false, on a copy) holds exactly the
//     changelog's records up to its checkpoint, and at least every checkpoint the writer saw
//     resolve: the position was recorded together with the state it describes;
//   - reopened with its changelog, the store holds exactly what a full restore of the
//     changelog gives, versions included (checkpoint + tail restore ≡ full restore).
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, FileChangelog, codecs, type ChangeRecord } from 'strata-kv';

const writer = fileURLToPath(new URL('./fixtures/checkpoint-writer.mjs', import.meta.url));
const dirs: string[] = [];
const freshDir = (name: string) => { const d = mkdtempSync(join(tmpdir(), `strata-${name}-`)); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const utf8 = new TextDecoder();
type State = Map<string, { value: string; version: number }>;

function stateOf(records: ChangeRecord[], upTo = Infinity): State {
  const m: State = new Map();
  for (const r of records) {
    if (r.seq > upTo) break;
    if (r.value === null) m.delete(utf8.decode(r.key)); else m.set(utf8.decode(r.key), { value: utf8.decode(r.value), version: r.seq });
  }
  return m;
}

function contentOf(store: Store<string, string>): State {
  const m: State = new Map();
  for (const [k, v] of store.all()) m.set(k, { value: v, version: store.getVersioned(k)!.version });
  return m;
}

/** Runs the writer until it dies; returns the checkpoint sequences it printed. */
function runWriter(storeDir: string, logDir: string, seed: number, mode: string, killAt: number, killAfterMs?: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, storeDir, logDir, String(seed), mode, String(killAt)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (killAfterMs !== undefined && out.startsWith('ready')) { setTimeout(() => child.kill('SIGKILL'), killAfterMs); killAfterMs = undefined; }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') { reject(new Error(`writer exited with ${code}: ${err}`)); return; }
      resolve([...out.matchAll(/^checkpoint (\d+)$/gm)].map((m) => Number(m[1])));
    });
  });
}

async function verify(storeDir: string, logDir: string, checkpoints: number[]): Promise<{ local: number; total: number }> {
  const log = await FileChangelog.open({ path: logDir });
  const records = [...log.read(0)];
  const lastCheckpoint = checkpoints.at(-1) ?? 0;
  const total = records.at(-1)?.seq ?? 0;
  expect(total).toBeGreaterThanOrEqual(lastCheckpoint); // the changelog holds every checkpoint

  const copy = freshDir('ckpt-copy');
  cpSync(storeDir, copy, { recursive: true });
  const local = await Store.open({ path: copy, restoreFrom: false, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
  const localSeq = local.stats().sequence;
  expect(localSeq).toBeGreaterThanOrEqual(lastCheckpoint);
  expect(localSeq).toBeLessThanOrEqual(total);
  expect(contentOf(local)).toEqual(stateOf(records, localSeq));
  await local.close();

  const store = await Store.open({ path: storeDir, changelog: log, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
  expect(store.stats().sequence).toBe(total);
  expect(contentOf(store)).toEqual(stateOf(records));
  await store.close(); // also closes the changelog
  return { local: localSeq, total };
}

describe('checkpoint crash safety (real SIGKILL)', () => {
  for (const mode of ['before-sinks', 'before-manifest', 'after']) {
    it(`a kill ${mode === 'after' ? 'after a checkpoint resolved' : `${mode.replace('-', ' the ')} step`} loses nothing and resurrects nothing`, async () => {
      const storeDir = freshDir('ckpt-store'), logDir = freshDir('ckpt-log');
      const seen = await runWriter(storeDir, logDir, 7, mode, 2);
      expect(seen.length).toBe(mode === 'after' ? 3 : 2); // it died where it was told to
      const { local, total } = await verify(storeDir, logDir, seen);
      // Killed between the steps, the directory keeps the previous checkpoint (the last one
      // printed); the records after it come back from the changelog alone.
      expect(local).toBe(seen.at(-1));
      if (mode === 'before-manifest') expect(total).toBeGreaterThan(local); // the sinks had the tail
    }, 60_000);
  }

  it('random kills of a writer that restarts on the same directory and changelog', async () => {
    const storeDir = freshDir('ckpt-store'), logDir = freshDir('ckpt-log');
    const rounds = Number(process.env.STRATA_CRASH_ITERATIONS ?? 8);
    let checkpointsSeen = 0;
    for (let round = 0; round < rounds; round++) {
      const seen = await runWriter(storeDir, logDir, 11, 'random', -1, 20 + ((round * 37) % 180));
      checkpointsSeen += seen.length;
      await verify(storeDir, logDir, seen);
    }
    expect(checkpointsSeen).toBeGreaterThan(0); // the kills landed after real work
  }, 240_000);
});
