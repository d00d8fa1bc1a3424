// Bundled by test/browser-opfs.test.ts (esbuild, "exports" → "browser"), imported by its
// worker: StrataLevel from the built package, for a location in OPFS.
export { StrataLevel } from 'strata-kv/level';
