// The built package as the runners measure it, and the child processes they measure it in.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (bench/lib/../..). */
export const root = fileURLToPath(new URL('../../', import.meta.url));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Copies dist/ to a temporary directory (under the build lock other engineers rebuild with,
 * when flock exists), so every strata-kv process of a run measures one build. node_modules is
 * linked beside the copy so the package's own imports still resolve; the copy is removed when
 * the process exits. A missing dist/ (a build in progress) is waited for, a minute at a time,
 * up to `waitMinutes`. Returns the path of the copy's dist/index.js, which
 * bench/adapters/strata-kv.mjs loads when it is given as STRATA_BENCH_DIST.
 */
export async function snapshotDist({ waitMinutes = 0 } = {}) {
  const src = join(root, 'dist');
  for (let tries = 0; !existsSync(join(src, 'index.js')); tries++) {
    if (tries === waitMinutes) throw new Error('dist/index.js is missing: run `npm run build` first');
    console.error('dist/index.js is missing (a build in progress?): waiting a minute');
    await sleep(60_000);
  }
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-dist-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const locked = spawnSync('flock', ['/tmp/strata-build.lock', 'cp', '-R', src, join(dir, 'dist')], { stdio: 'inherit' });
  if (locked.error || locked.status !== 0) cpSync(src, join(dir, 'dist'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'junction');
  return join(dir, 'dist', 'index.js');
}

/** `node --require` of this: names the child's Worker threads for lib/threads.mjs. */
export const NAME_WORKERS = fileURLToPath(new URL('./name-workers.cjs', import.meta.url));

/**
 * Runs `node --expose-gc --max-old-space-size=8192 --require name-workers.cjs script peer
 * mode …rest` with STRATA_BENCH_DIST set to `dist`; resolves with the JSON of the last line
 * it prints (its progress goes to stderr, passed through).
 */
export function runChild(script, args, dist) {
  const argv = ['--expose-gc', '--max-old-space-size=8192', '--require', NAME_WORKERS, script, ...args];
  return new Promise((resolve, reject) => {
    const env = { ...process.env, STRATA_BENCH_DIST: dist };
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => { out += s; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${args[0]} (${args[1]}) exited with ${signal ?? code}`));
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch (err) { reject(err); }
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Forces a few full GCs (with --expose-gc) so a measurement starts from a settled heap. */
export async function settle() {
  if (!globalThis.gc) return;
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
}
