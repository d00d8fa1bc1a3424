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
    entry: { index: 'bindings/index.ts', nats: 'bindings/nats/index.ts', level: 'bindings/level/index.ts', cli: 'bindings/cli/cli.ts' },
    format: ['esm', 'cjs'],
    target: 'node20',
    // nats/client.ts resolves the NATS packages from its own file (import.meta.url); the CJS
    // build gets it from __filename.
    shims: true,
  },
  {
    ...shared,
    // ESM only: browsers and bundlers load modules. A browser file imports nothing but
    // 'strata-kv': level-browser.js carries abstract-level, its dependencies, and the npm
    // `events` and `buffer` in place of Node's. abstract-level's `require('events')` names a
    // Node built-in that no bundler supplies the same way (esbuild fails; Vite swaps in an
    // empty module, so `class extends EventEmitter` throws; Rollup's node-resolve prefers the
    // built-in even when the npm package is installed), so it is resolved here, once, and a
    // page's bundler gets plain ESM with no Node name to resolve and no CommonJS to convert.
    entry: { browser: 'bindings/browser.ts', 'level-browser': 'bindings/level/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    noExternal: ['abstract-level', 'buffer'],
    esbuildPlugins: [browserSwaps],
  },
]);
