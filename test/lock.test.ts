// The LOCK file (bindings/storage/lock-file.ts, docs/FORMAT.md "LOCK"), for Store and FileChangelog
// directories alike: a second open through a symlink is LOCKED and leaves the first's LOCK in
// place, so a real child process still cannot open; a LOCK naming this process is LOCKED even
// with no registry entry behind it (a worker thread of this process, a LOCK file written by
// hand), unless (Linux) it names an earlier process that had our pid; release removes only a
// LOCK that is still ours; concurrent openers of a stale LOCK: exactly one wins.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { FileChangelog, Store, StrataError } from 'strata-kv';
import { parseLock, processStart } from '../bindings/storage/lock-file.js';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-lock-'));
  dirs.push(d);
  return d;
}
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    const opened = await fn();
    await (opened as { close?: () => Promise<void> })?.close?.();
  } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'opened';
}

let opener: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  // The fixture is TypeScript: bundle it (with the library it imports) for plain node.
  const { buildSync } = await import('esbuild');
  opener = path.join(tmpDir(), 'lock-opener.mjs');
  buildSync({
    entryPoints: [fileURLToPath(new URL('./fixtures/lock-opener.ts', import.meta.url))],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: opener, logLevel: 'error',
  });
});
afterAll(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });

/** Runs the fixture in a real child process; resolves with its first line ("opened" or a code). */
function inChild(kind: Kind, dir: string, hold = false): Promise<{ result: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [opener, kind, dir, ...(hold ? ['hold'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ result: out.split('\n')[0], proc });
    });
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    proc.on('close', () => reject(new Error(`child exited without a result: ${err}`)));
  });
}

/** Runs the fixture in a worker thread: same pid, its own copy of the library and registry. */
function inWorker(kind: Kind, dir: string): Promise<string> {
  const w = new Worker(opener, { workerData: { kind, dir } });
  return new Promise((resolve, reject) => {
    w.once('message', (m: string) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

type Kind = 'store' | 'changelog';
const open = (kind: Kind, dir: string): Promise<{ close(): Promise<void> }> =>
  kind === 'store' ? Store.open({ path: dir }) : FileChangelog.open(dir);

describe.each(['store', 'changelog'] as const)('LOCK of a %s directory', (kind) => {
  it('a second open through a symlink is LOCKED, and the first keeps its LOCK against other processes', async () => {
    const dir = tmpDir();
    const link = path.join(tmpDir(), 'link');
    const first = await open(kind, dir);
    const lockBefore = fs.readFileSync(path.join(dir, 'LOCK'), 'latin1');
    fs.symlinkSync(dir, link);
    expect(await codeOf(() => open(kind, link))).toBe('LOCKED');
    expect(await codeOf(() => open(kind, `${link}/./`))).toBe('LOCKED');
    // The refused opens took nothing over and released nothing: the LOCK is the first's.
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'latin1')).toBe(lockBefore);
    expect((await inChild(kind, link)).result).toBe('LOCKED');
    expect((await inChild(kind, dir)).result).toBe('LOCKED');
    await first.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    expect((await inChild(kind, link)).result).toBe('opened');
  });

  it('a worker thread of this process (same pid, its own registry) is LOCKED, and cannot release our LOCK', async () => {
    const dir = tmpDir();
    const first = await open(kind, dir);
    expect(await inWorker(kind, dir)).toBe('LOCKED');
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(true);
    expect((await inChild(kind, dir)).result).toBe('LOCKED');
    await first.close();
    expect(await inWorker(kind, dir)).toBe('opened');
  });

  it('a LOCK held by a live process is LOCKED; once it is killed, its LOCK is taken over', async () => {
    const dir = tmpDir();
    const { result, proc } = await inChild(kind, dir, true);
    expect(result).toBe('opened');
    expect(parseLock(fs.readFileSync(path.join(dir, 'LOCK'), 'latin1')).pid).toBe(proc.pid);
    expect(await codeOf(() => open(kind, dir))).toBe('LOCKED');
    const exited = new Promise((r) => proc.on('close', r));
    proc.kill('SIGKILL');
    await exited;
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(true); // left behind by the crash
    const log = await open(kind, dir);
    expect(parseLock(fs.readFileSync(path.join(dir, 'LOCK'), 'latin1')).pid).toBe(process.pid);
    await log.close();
  });
});

describe('LOCK contents', () => {
  it('a LOCK naming this process with no open behind it is LOCKED (old format too), not taken over', async () => {
    for (const content of [`${process.pid}`, `pid ${process.pid}\ntoken 0123456789abcdef\n`,
      `pid ${process.pid}\n${processStart(process.pid) === undefined ? '' : `start ${processStart(process.pid)}\n`}token 0123456789abcdef\n`]) {
      const dir = tmpDir();
      fs.writeFileSync(path.join(dir, 'LOCK'), content);
      const err = await codeOf(() => Store.open({ path: dir }));
      expect(err).toBe('LOCKED');
      expect(await codeOf(() => FileChangelog.open(dir))).toBe('LOCKED');
      expect(fs.readFileSync(path.join(dir, 'LOCK'), 'latin1')).toBe(content);
    }
  });

  it.runIf(processStart(process.pid) !== undefined)('a LOCK naming our pid but another process start (pid reuse, e.g. pid 1 in a restarted container) is stale', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'LOCK'), `pid ${process.pid}\nstart ${processStart(process.pid)}0\ntoken 0123456789abcdef\n`);
    const s = await Store.open({ path: dir });
    const lock = parseLock(fs.readFileSync(path.join(dir, 'LOCK'), 'latin1'));
    expect([lock.pid, lock.start]).toEqual([process.pid, processStart(process.pid)]);
    await s.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });

  it('a LOCK naming another live process is LOCKED (old format too)', async () => {
    const other = process.ppid; // alive while this test runs
    for (const content of [`${other}`, `pid ${other}\ntoken 00\n`, `pid ${other}\nstart ${processStart(other) ?? 'x'}\ntoken 00\n`]) {
      const dir = tmpDir();
      fs.writeFileSync(path.join(dir, 'LOCK'), content);
      expect(await codeOf(() => Store.open({ path: dir }))).toBe('LOCKED');
    }
  });

  it.runIf(processStart(process.ppid) !== undefined)('a LOCK naming a live pid that now belongs to a process started later (pid reuse) is stale', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'LOCK'), `pid ${process.ppid}\nstart ${processStart(process.ppid)}0\ntoken 00\n`);
    expect(await codeOf(() => FileChangelog.open(dir))).toBe('opened');
  });

  it('a LOCK of a process that is gone (garbage, empty, dead pid) is taken over', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('close', r));
    for (const content of ['', 'garbage', `pid ${dead.pid}\ntoken 00\n`]) {
      const dir = tmpDir();
      fs.writeFileSync(path.join(dir, 'LOCK'), content);
      expect(await codeOf(() => Store.open({ path: dir }))).toBe('opened');
      expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    }
  });

  it('close removes only a LOCK that is still ours', async () => {
    const dir = tmpDir();
    const s = await Store.open({ path: dir });
    const foreign = 'pid 1\ntoken ffffffffffffffff\n';
    fs.writeFileSync(path.join(dir, 'LOCK'), foreign); // replaced behind our back
    await s.close();
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'latin1')).toBe(foreign);
  });

  it('the LOCK is written whole: pid, start (where known), token; a Store and a FileChangelog on one directory exclude each other', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    const text = fs.readFileSync(path.join(dir, 'LOCK'), 'latin1');
    expect(text).toMatch(/^pid \d+\n(start \S+\n)?token [0-9a-f]{16}\n$/);
    expect(parseLock(text).start).toBe(processStart(process.pid));
    expect(await codeOf(() => Store.open({ path: dir }))).toBe('LOCKED');
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('LOCK'))).toEqual(['LOCK']); // no temp files left
    await log.close();
  });

  it('of many processes opening a directory whose holder was killed, exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = tmpDir();
      const { proc } = await inChild('changelog', dir, true);
      const exited = new Promise((r) => proc.on('close', r));
      proc.kill('SIGKILL');
      await exited;
      const racers = await Promise.all(Array.from({ length: 4 }, () => inChild('changelog', dir, true)));
      expect(racers.map((r) => r.result).sort()).toEqual(['LOCKED', 'LOCKED', 'LOCKED', 'opened']);
      for (const r of racers) r.proc.kill('SIGKILL');
    }
  });
});
