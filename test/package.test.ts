// The built package (dist/) as users load it: `import` and `require` of 'strata-kv' from a
// separate Node process, resolved through package.json "exports" (a self-reference), so the
// embedded Wasm, the ESM and the CJS bundles are all exercised for real. Then the packed
// tarball, installed into a fresh app: browser bundlers with no configuration (their bundles
// run in Node, and those of esbuild, Vite and webpack in Chromium too), and the optional NATS
// peers.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { rollup } from 'rollup';
import { chromiumOrSkip, launchChromium, openPage } from '../scripts/chromium.mjs';
import { startStaticServer } from '../scripts/static-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = `
  const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.json });
  s.put('b', { n: 2 }); s.put('a', { n: 1 });
  const out = JSON.stringify([...s.all()]);
  await s.close();
  console.log(out + ' ' + (new StrataError('CLOSED', 'x') instanceof Error));
`;

describe('the built package', () => {
  it('exists (npm test builds it first)', () => {
    expect(existsSync(root + 'dist/index.js') && existsSync(root + 'dist/index.cjs') && existsSync(root + 'dist/index.d.ts')).toBe(true);
    expect(existsSync(root + 'dist/browser.js') && existsSync(root + 'dist/browser.d.ts') && existsSync(root + 'dist/level-browser.js')).toBe(true);
  });
  it('works from import', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e',
      `import { Store, codecs, StrataError } from 'strata-kv';\n${script}`], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('[["a",{"n":1}],["b",{"n":2}]] true');
  });
  it('works from require', () => {
    const out = execFileSync(process.execPath, ['-e',
      `const { Store, codecs, StrataError } = require('strata-kv');\n(async () => {${script}})().catch((e) => { console.error(e); process.exit(1); });`],
      { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('[["a",{"n":1}],["b",{"n":2}]] true');
  });
  it('resolves to the browser build under the "browser" condition (as bundlers do)', () => {
    // Node can load dist/browser.js too (it only needs WebAssembly and atob), which makes the
    // export condition checkable here; test/browser.test.ts runs it in Chromium.
    const out = execFileSync(process.execPath, ['--conditions=browser', '--input-type=module', '-e',
      `import * as m from 'strata-kv'; const { Store, codecs, StrataError } = m;\n${script}
       console.log(import.meta.resolve('strata-kv').replace(/^.*\\/dist\\//, 'dist/') + ' ' + ('FileChangelog' in m));`],
      { cwd: root, encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(['[["a",{"n":1}],["b",{"n":2}]] true', 'dist/browser.js false']);
  });
});

// The packed tarball installed into a fresh app, as a user gets it from the registry.
// Bundled for a browser with no configuration at all (no alias, no polyfill, no plugin), by
// esbuild, Vite (8, the one vitest runs on), Rollup and webpack 5.
// Each bundle then runs in Node: a missing Node built-in shows up there as it would in a page
// ("Class extends value undefined"); test/browser.test.ts runs the package in Chromium.
describe('the packed tarball in a fresh app', () => {
  const work = mkdtempSync(join(tmpdir(), 'strata-package-'));
  const app = join(work, 'app');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const natsPackages = ['@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv'];
  const install = (args: string[]) => {
    // Every package is in npm's cache after the project's own install; online only if not.
    const run = (mode: string) => spawnSync('npm', ['install', mode, '--no-audit', '--no-fund', ...args],
      { cwd: app, encoding: 'utf8', timeout: 180_000 });
    let r = run('--offline');
    if (r.status !== 0) r = run('--prefer-offline');
    expect(r.status, r.stderr).toBe(0);
  };
  const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: app, encoding: 'utf8' }).trim();
  let packed: { filename: string };

  beforeAll(() => {
    packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))[0];
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    install([join(work, packed.filename)]);
    writeFileSync(join(app, 'store-page.mjs'), `
      import { Store, codecs } from 'strata-kv';
      const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.json });
      s.put('b', { n: 2 }); s.put('a', { n: 1 });
      console.log('store ' + JSON.stringify([...s.all()]));
      await s.close();`);
    writeFileSync(join(app, 'level-page.mjs'), `
      import { StrataLevel } from 'strata-kv/level';
      const db = new StrataLevel({ valueEncoding: 'json' });
      await db.put('k', { ok: true });
      console.log('level ' + JSON.stringify(await db.get('k')) + ' ' + JSON.stringify(await db.keys().all()));
      await db.close();`);
    // The app's own Buffer is the one StrataLevel hands back (one copy of `buffer` in the page).
    writeFileSync(join(app, 'buffer-page.mjs'), `
      import { Buffer } from 'buffer';
      import { StrataLevel } from 'strata-kv/level';
      const db = new StrataLevel({ keyEncoding: 'buffer' });
      await db.put(Buffer.from('k'), 'v');
      const [key] = await db.keys().all();
      console.log('buffer ' + (key instanceof Buffer) + ' ' + key.toString());
      await db.close();`);
  }, 240_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const expected = { store: 'store [["a",{"n":1}],["b",{"n":2}]]', level: 'level {"ok":true} ["k"]', buffer: 'buffer true k' };

  it('bundles for a browser with esbuild, no configuration: pages importing strata-kv and strata-kv/level', async () => {
    for (const page of ['store', 'level', 'buffer'] as const) {
      const outfile = join(app, `esbuild-${page}.mjs`);
      const r = await build({ entryPoints: [join(app, `${page}-page.mjs`)], outfile, bundle: true, format: 'esm',
        platform: 'browser', logLevel: 'silent', metafile: true, absWorkingDir: app }).catch((err: Error) => err);
      expect(r instanceof Error ? r.message : '', `esbuild, ${page} page`).toBe('');
      const inputs = Object.keys((r as { metafile: { inputs: object } }).metafile.inputs);
      expect(inputs).toContainEqual(expect.stringMatching(page === 'store' ? /strata-kv\/dist\/browser\.js$/ : /strata-kv\/dist\/level-browser\.js$/));
      expect(node([outfile])).toBe(expected[page]);
    }
  });

  it('bundles strata-kv/level for a browser with Vite, no configuration', () => {
    // Vite is vitest's own dependency, so it is resolved from vitest's folder.
    const vite = pathToFileURL(createRequire(createRequire(import.meta.url).resolve('vitest/package.json')).resolve('vite')).href;
    node(['--input-type=module', '-e', `
      const { build } = await import(${JSON.stringify(vite)});
      await build({ root: process.cwd(), configFile: false, logLevel: 'silent',
        build: { outDir: 'vite-dist', minify: false, rollupOptions: { input: 'level-page.mjs', output: { entryFileNames: 'level.mjs' } } } });`]);
    // Without `events`, Vite still builds, with a stub in its place that fails once the page
    // runs: running the bundle is what shows it.
    expect(node([join(app, 'vite-dist/level.mjs')])).toBe(expected.level);
  });

  it('bundles strata-kv/level for a browser with Rollup: its browser files are ESM naming no Node built-in', async () => {
    // Rollup is tsup's dependency; @rollup/plugin-node-resolve and -commonjs are not installed
    // here. In their place: 'strata-kv' resolves through the installed package's "exports",
    // "browser" condition, as node-resolve's `browser: true` does, and every other import is
    // left external and listed. It must be only the npm `buffer`, named by its file: a Node
    // built-in's name (`events`, `buffer`) is what node-resolve leaves unresolved by default.
    // Node then runs the bundle, loading buffer/index.js from the app's node_modules.
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/strata-kv/package.json'), 'utf8'));
    const external = new Set<string>();
    const bundle = await rollup({
      input: join(app, 'level-page.mjs'),
      plugins: [{
        name: 'exports-browser',
        resolveId(id) {
          if (id.startsWith('.') || id.startsWith('/')) return undefined;
          const sub = id === 'strata-kv' ? '.' : id.startsWith('strata-kv/') ? `./${id.slice('strata-kv/'.length)}` : undefined;
          const target = sub === undefined ? undefined : installed.exports[sub]?.browser?.default;
          if (target === undefined) { external.add(id); return false; }
          return join(app, 'node_modules/strata-kv', target);
        },
      }],
    });
    const outfile = join(app, 'rollup-level.mjs');
    await bundle.write({ file: outfile, format: 'es' });
    await bundle.close();
    expect([...external]).toEqual(['buffer/index.js']);
    expect(node([outfile])).toBe(expected.level);
  });

  it('bundles strata-kv and strata-kv/level for a browser with webpack 5, given only an entry and an output', async () => {
    // webpack 5 supplies no Node built-in to a web bundle, so a leftover `events` or `buffer`
    // import fails here as it would in the user's build. The store page also carries
    // SharedStore's worker, `new Worker(new URL('./shared-worker.js', import.meta.url))`, which
    // webpack emits as a chunk of its own.
    const { default: webpack } = await import('webpack');
    for (const page of ['store', 'level'] as const) {
      const outDir = join(app, `webpack-${page}`);
      const stats = await new Promise<import('webpack').Stats>((resolve, reject) => {
        webpack({
          mode: 'production', target: 'web', context: app, entry: `./${page}-page.mjs`,
          output: { path: outDir, filename: 'main.mjs', module: true, chunkFormat: 'module' },
          experiments: { outputModule: true }, optimization: { minimize: false },
          // The embedded engine puts a bundle over webpack's advisory 244 KiB: that hint only.
          performance: { hints: false },
        }, (err, st) => (err || !st ? reject(err ?? new Error('no stats')) : resolve(st)));
      });
      expect(stats.toString({ all: false, errors: true, warnings: true }), `webpack, ${page} page`).not.toMatch(/ERROR|WARNING/);
      expect(node([join(outDir, 'main.mjs')])).toBe(expected[page]);
    }
  }, 120_000);

  it('runs the bundles of esbuild, Vite and webpack in headless Chromium, as a page loads them', async () => {
    // Rollup's bundle is not here: without node-resolve and commonjs (not installed) it keeps
    // `buffer/index.js`, a CommonJS file, as an import, which only Node runs.
    const bin = chromiumOrSkip('test/package.test.ts (bundles in Chromium)');
    if (!bin) return;
    // The page keeps what the bundle logs; the import resolves once its top-level awaits have.
    writeFileSync(join(app, 'run.html'), `<!doctype html><meta charset="utf-8"><script type="module">
      window.logged = [];
      const log = console.log;
      console.log = (...a) => { window.logged.push(a.join(' ')); log(...a); };
      window.done = import(new URLSearchParams(location.search).get('bundle')).then(() => 'ran', (e) => String(e?.stack ?? e));
    </script>`);
    const server = await startStaticServer({ '/': app });
    const browser = await launchChromium(bin);
    try {
      const bundles: [string, string][] = [
        ['esbuild-store.mjs', expected.store], ['esbuild-level.mjs', expected.level], ['esbuild-buffer.mjs', expected.buffer],
        ['vite-dist/level.mjs', expected.level], ['webpack-store/main.mjs', expected.store], ['webpack-level/main.mjs', expected.level],
      ];
      for (const [bundle, want] of bundles) {
        const page = await openPage(browser, `${server.url}run.html?bundle=/${bundle}`);
        await page.waitForFunction(() => (window as any).done !== undefined, undefined, { timeout: 30_000 });
        expect(await page.evaluate(() => (window as any).done), bundle).toBe('ran');
        // webpack's main.mjs resolves its import before its async module (the page's
        // top-level awaits) has run to the end: under load the log came after `done` (seen
        // twice in full runs). Its line is waited for; a page that never logs still fails.
        await page.waitForFunction(() => (window as any).logged.length > 0, undefined, { timeout: 30_000 }).catch(() => {});
        const logged = await page.evaluate(() => (window as any).logged.join('\n'));
        expect([logged, page.errors.map(String)], bundle).toEqual([want, []]);
        await page.close();
      }
    } finally {
      await browser.close();
      await server.close();
    }
  }, 120_000);

  it('lists the NATS client packages as optional peers, so an app without NATS does not install them', () => {
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/strata-kv/package.json'), 'utf8'));
    for (const name of natsPackages) {
      expect(installed.dependencies?.[name], name).toBeUndefined();
      expect(installed.peerDependencies?.[name], name).toBe(`^${pkg.devDependencies[name]}`);
      expect(installed.peerDependenciesMeta?.[name], name).toEqual({ optional: true });
      expect(existsSync(join(app, 'node_modules', name)), name).toBe(false);
    }
  });

  it('strata-kv/nats without the NATS packages throws a StrataError saying what to install; with them, loads', () => {
    const command = `npm install ${natsPackages.map((n) => `${n}@${pkg.devDependencies[n]}`).join(' ')}`;
    const report = 'console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message }))';
    const esm = node(['--input-type=module', '-e', `try { await import('strata-kv/nats'); console.log('{}'); } catch (e) { ${report} }`]);
    const cjs = node(['-e', `try { require('strata-kv/nats'); console.log('{}'); } catch (e) { ${report} }`]);
    for (const out of [esm, cjs]) {
      const e = JSON.parse(out);
      expect([e.name, e.code]).toEqual(['StrataError', 'INVALID_ARGUMENT']);
      expect(e.message).toContain(command);
    }
    install(natsPackages.map((n) => `${n}@${pkg.devDependencies[n]}`));
    const loaded = "typeof m.NatsChangelog.connect + ' ' + typeof m.StreamTasks";
    expect(node(['--input-type=module', '-e', `const m = await import('strata-kv/nats'); console.log(${loaded});`])).toBe('function function');
    expect(node(['-e', `const m = require('strata-kv/nats'); console.log(${loaded});`])).toBe('function function');
  }, 240_000);
});
