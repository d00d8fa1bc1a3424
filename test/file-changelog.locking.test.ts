// FileChangelog locking and real crashes: LOCKED in-process and cross-process (a dead holder's
// LOCK is taken over), and a child appending with sync: true is SIGKILLed at random moments:
// every acknowledged record must read back.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileChangelog } from 'strata-kv';
import { recordFor, WRITER_PARTITIONS } from './fixtures/changelog-records.js';
import { tempDirs, plain, readAll, codeOf, errorOf, replay, seededRandom } from './support/file-changelog.js';

const tmpDir = tempDirs('strata-fcl-');

describe('FileChangelog locking', () => {
  let writer: string;
  const children: ChildProcess[] = [];
  afterAll(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  beforeAll(async () => {
    // The child script is TypeScript: bundle it (with the changelog it imports) for plain node.
    const { buildSync } = await import('esbuild');
    writer = path.join(tmpDir(), 'changelog-writer.mjs');
    buildSync({
      entryPoints: [fileURLToPath(new URL('./fixtures/changelog-writer.ts', import.meta.url))],
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: writer, logLevel: 'error',
    });
  });

  function child(mode: 'write' | 'hold', dir: string): { proc: ChildProcess; lines: string[]; waitFor: (pred: (lines: string[]) => boolean) => Promise<void>; exited: Promise<void> } {
    const proc = spawn(process.execPath, [writer, mode, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    const lines: string[] = [];
    let partial = '', stderr = '';
    const waiters: (() => void)[] = [];
    proc.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters) w();
    });
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
    const waitFor = (pred: (lines: string[]) => boolean) => new Promise<void>((resolve, reject) => {
      const check = () => { if (pred(lines)) resolve(); };
      waiters.push(check);
      check();
      void exited.then(() => reject(new Error(`child exited early: ${stderr}`)));
    });
    return { proc, lines, waitFor, exited };
  }

  it('a second open of the directory in this process is LOCKED until the first closes', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    expect(await codeOf(() => FileChangelog.open(dir))).toBe('LOCKED');
    expect(await codeOf(() => new FileChangelog(`${dir}/./`))).toBe('LOCKED');
    await log.close();
    const again = await FileChangelog.open(dir);
    await again.close();
  });

  it('an open held by another live process is LOCKED; a dead holder’s LOCK is taken over', async () => {
    const dir = tmpDir();
    const holder = child('hold', dir);
    await holder.waitFor((l) => l.includes('ready'));
    const err = await errorOf(() => FileChangelog.open(dir));
    expect(err.code).toBe('LOCKED');
    expect(err.message).toContain(String(holder.proc.pid));
    holder.proc.kill('SIGKILL');
    await holder.exited;
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(true); // left behind by the crash
    const log = await FileChangelog.open(dir);
    await log.close();
  });

  it('after SIGKILL at a random moment, every acknowledged record reads back (6 crashes)', async () => {
    const dir = tmpDir();
    const acked = new Array<number>(WRITER_PARTITIONS).fill(0);
    const random = seededRandom(0x5eed_c1a5); // deterministic kill points (the timing still varies)
    for (let crash = 0; crash < 6; crash++) {
      const w = child('write', dir);
      const acks = WRITER_PARTITIONS * (1 + Math.floor(random() * 20));
      await w.waitFor((l) => l.length >= acks);
      await new Promise((r) => setTimeout(r, random() * 40));
      w.proc.kill('SIGKILL');
      await w.exited;
      for (const line of w.lines) {
        const m = /^ack (\d+) (\d+)$/.exec(line);
        if (m) acked[Number(m[1])] = Math.max(acked[Number(m[1])], Number(m[2]));
      }
      const log = await FileChangelog.open(dir, { segmentBytes: 2048 });
      for (let p = 0; p < WRITER_PARTITIONS; p++) {
        const got = readAll(log, p);
        const last = log.lastSeq(p);
        expect(last).toBeGreaterThanOrEqual(acked[p]);
        expect(got.at(-1)?.seq ?? 0).toBe(last);
        const seqs = got.map((r) => r.seq);
        expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
        for (const r of got) expect(r).toEqual(plain(recordFor(p, r.seq)));
        // Compaction may have dropped superseded records: compare states, not lists.
        const fullLog = Array.from({ length: last }, (_, i) => recordFor(p, i + 1));
        expect(replay(got)).toEqual(replay(fullLog));
      }
      await log.close();
    }
    expect(acked.every((a) => a > 0)).toBe(true);
  });
});
