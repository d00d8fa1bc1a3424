// Vitest globalSetup: the build the tests run is the build of the sources in the tree.
// Tests import bindings/ through vitest's alias, but the Wasm they load is
// bindings/engine/wasm-binary.ts, generated from assembly/ by `npm run asbuild`; and the crash,
// checkpoint, Level-suite, browser and package tests run dist/ (child processes and pages
// cannot load TypeScript). `npm test` builds first, but a focused `npx vitest run` after a
// source edit would test the old build and pass or fail for the wrong reason. So: when any
// output is missing or older than a source it is built from, this rebuilds (`npm run build`,
// or only tsup when assembly/ is unchanged) once, before any test, and says so; when all
// are up to date it only stats the files.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Files of `dir` (recursively) whose names end with one of `exts`. */
function filesOf(dir: string, exts: string[]): string[] {
  return (readdirSync(join(root, dir), { recursive: true }) as string[])
    .filter((f) => exts.some((e) => f.endsWith(e)))
    .map((f) => join(dir, f));
}

const mtime = (f: string) => statSync(join(root, f)).mtimeMs;

/** The newest of `files`, with its time. */
function newest(files: string[]): { file: string; time: number } {
  let best = { file: '', time: -Infinity };
  for (const f of files) { const t = mtime(f); if (t > best.time) best = { file: f, time: t }; }
  return best;
}

/** Why the build is stale, and whether the Wasm is (then the whole build runs), or
 *  undefined when every output is newer than its sources. */
export function staleness(): { why: string; wasm: boolean } | undefined {
  // The Wasm: assembly/ and the compiler's configuration -> bindings/engine/wasm-binary.ts.
  const wasmSources = [...filesOf('assembly', ['.ts']).filter((f) => !isUnitsDriver(f)), 'asconfig.json', 'scripts/embed-wasm.mjs'];
  const wasm = 'bindings/engine/wasm-binary.ts';
  if (!existsSync(join(root, wasm))) return { why: `${wasm} is missing`, wasm: true };
  const w = newest(wasmSources);
  if (w.time > mtime(wasm)) return { why: `${w.file} is newer than ${wasm}`, wasm: true };
  // dist/: bindings/ (the Wasm included) and the bundler's configuration -> every entry.
  const distSources = [...filesOf('bindings', ['.ts']), 'tsup.config.ts', 'package.json'];
  const outputs = ['index', 'nats', 'level', 'cli'].flatMap((e) => [`dist/${e}.js`, `dist/${e}.cjs`, `dist/${e}.d.ts`])
    .concat(['dist/browser.js', 'dist/level-browser.js']);
  const missing = outputs.find((f) => !existsSync(join(root, f)));
  if (missing !== undefined) return { why: `${missing} is missing`, wasm: false };
  const oldest = Math.min(...outputs.map(mtime));
  const s = newest(distSources);
  if (s.time > oldest) return { why: `${s.file} is newer than dist/`, wasm: false };
  return undefined;
}

// The unit-test Wasm (test/engine-units.test.ts): assembly/, its test entry in
// assembly/testing/ and that folder's asconfig.json -> build/units.wasm. Never shipped, so
// only this setup builds it (`npm run asbuild:units`); its driver alone changing leaves the
// engine's build as it is.
const UNITS_WASM = 'build/units.wasm';
const isUnitsDriver = (f: string) => f.split('\\').join('/').startsWith('assembly/testing/');

/** Why build/units.wasm is stale, or undefined. */
export function unitsStaleness(): string | undefined {
  if (!existsSync(join(root, UNITS_WASM))) return `${UNITS_WASM} is missing`;
  const s = newest([...filesOf('assembly', ['.ts', '.json'])]);
  return s.time > mtime(UNITS_WASM) ? `${s.file} is newer than ${UNITS_WASM}` : undefined;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}); the tests would run a stale build:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  }
}

export default function setup(): void {
  const units = unitsStaleness();
  if (units !== undefined) {
    console.warn(`\nstrata-kv tests: ${units}: running npm run asbuild:units first`);
    run('npm', ['run', 'asbuild:units']);
  }
  const stale = staleness();
  if (stale === undefined) return;
  // Only bindings/ changed: dist/ alone, as `npm run build` makes it after the Wasm (an
  // empty dist/, then tsup), without recompiling the Wasm.
  const how = stale.wasm ? 'npm run build' : 'tsup (dist/ only)';
  const banner = `strata-kv tests: the build is stale (${stale.why}): running ${how} first`;
  console.warn(`\n${'='.repeat(banner.length)}\n${banner}\n${'='.repeat(banner.length)}`);
  const started = performance.now();
  if (stale.wasm) run('npm', ['run', 'build']);
  else {
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    run('npx', ['tsup']);
  }
  const still = staleness();
  if (still !== undefined) throw new Error(`the build left it stale: ${still.why}`);
  console.warn(`strata-kv tests: built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
