import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Tests import the public package name, exactly as users and the hidden tests do. The alias
// points it at the TypeScript sources so a test run needs no bundling step; the packaging
// test (test/package.test.ts) checks the built dist/ through real `import` and `require`.
// The Wasm comes from bindings/engine/wasm-binary.ts and child processes run dist/: globalSetup
// (test/support/fresh-build.ts) rebuilds both first when a source is newer than them.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^strata-kv$/, replacement: fileURLToPath(new URL('./bindings/index.ts', import.meta.url)) },
      { find: /^strata-kv\/nats$/, replacement: fileURLToPath(new URL('./bindings/nats/index.ts', import.meta.url)) },
      { find: /^strata-kv\/level$/, replacement: fileURLToPath(new URL('./bindings/level/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/support/fresh-build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
