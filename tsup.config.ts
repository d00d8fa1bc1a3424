import { defineConfig, type Options } from 'tsup';
import type { Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const bindings = fileURLToPath(new URL('./bindings/', import.meta.url));

// Browser builds replace a module that needs a Node file system by its `-browser` twin
// beside it, which keeps the same exports: storage/persistence.ts (a Store with `path`) and
// level/location.ts (StrataLevel's directory check). Every other `node:` import is refused,
// so a new one reachable from a browser entry fails the build instead of shipping.
const browserSwaps: Plugin = {
  name: 'strata-browser-swaps',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      if (!args.importer.startsWith(bindings)) return undefined;
      const twin = join(dirname(args.importer), `${args.path.slice(0, -3)}-browser.ts`);
      return existsSync(twin) ? { path: twin } : undefined;
    });
    build.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `${args.path} (imported by ${args.importer}) cannot go into a browser bundle` }],
    }));
  },
};

// Every `buffer` of a browser file, ours (an import) and abstract-level's (a require), becomes
// one ESM import of 'buffer/index.js': the npm package (a dependency) by a name that is not a
// Node built-in, so every bundler resolves it to node_modules/buffer (Rollup's node-resolve
// leaves a built-in name unresolved by default) and Node's ESM loads it too. The page keeps
// one Buffer class: a key StrataLevel returns is a Buffer of the app's own `buffer`
// (instanceof and deep equality hold, as abstract-level's suite in Chromium checks).
// A require becomes a tiny ESM module re-exporting it, because an external require() in an
// ESM file is esbuild's __require, which throws in a browser.
const sharedBuffer: Plugin = {
  name: 'strata-shared-buffer',
  setup(build) {
    build.onResolve({ filter: /^buffer(\/.*)?$/ }, (args) =>
      args.kind === 'require-call' ? { path: 'buffer', namespace: 'strata-buffer' } : { path: 'buffer/index.js', external: true });
    build.onLoad({ filter: /.*/, namespace: 'strata-buffer' }, () => ({ contents: "export { Buffer } from 'buffer/index.js';", loader: 'js' }));
  },
};

const shared: Options = {
  dts: true,
  // Not tsup's clean: the two builds below run concurrently and each would delete the other's
  // files; the build script empties dist/ first.
  clean: false,
  sourcemap: true,
  outDir: 'dist',
  // The subpath entries import the main entry by its package name, so every entry shares
  // one copy of Store and StrataError (CJS bundles have no shared chunks). In a browser,
  // 'strata-kv' resolves through the "browser" condition to dist/browser.js.
  external: ['strata-kv'],
};

export default defineConfig([
  {
    ...shared,
    entry: { index: 'bindings/index.ts', nats: 'bindings/nats/index.ts', level: 'bindings/level/index.ts', cli: 'bindings/cli/cli.ts', 'compaction-worker': 'bindings/background/compaction-worker.ts', 'file-worker': 'bindings/storage/file-worker.ts' },
    format: ['esm', 'cjs'],
    target: 'node20',
    // nats/client.ts resolves the NATS packages from its own file (import.meta.url); the CJS
    // build gets it from __filename.
    shims: true,
  },
  {
    ...shared,
    // ESM only: browsers and bundlers load modules. level-browser.js carries abstract-level
    // (CommonJS) and its dependencies, with the npm `events` in place of Node's: abstract-level
    // does `require('events')`, a Node built-in that no bundler supplies the same way (esbuild
    // fails; Vite swaps in a stub, so `class extends EventEmitter` throws; Rollup's
    // node-resolve prefers the built-in even when the npm package is installed). So a page's
    // bundler gets ESM whose only imports are 'strata-kv' and 'buffer/index.js' (sharedBuffer).
    entry: { browser: 'bindings/browser.ts', 'level-browser': 'bindings/level/index.ts', 'shared-worker': 'bindings/shared-worker.ts', 'compaction-worker-browser': 'bindings/background/compaction-worker-browser.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    // Bundled (tsup leaves dependencies external); sharedBuffer decides what `buffer` becomes.
    noExternal: ['abstract-level', 'buffer'],
    esbuildPlugins: [browserSwaps, sharedBuffer],
  },
]);
