import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'bindings/index.ts', nats: 'bindings/nats.ts', level: 'bindings/level.ts', cli: 'bindings/cli.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  outDir: 'dist',
  // The subpath entries import the main entry by its package name, so every entry shares
  // one copy of Store and StrataError (CJS bundles have no shared chunks).
  external: ['strata-kv'],
});
