// The public API of strata-kv in browsers (package.json "exports" → "browser"): the names
// of index.ts except FileChangelog, which needs a Node file system, plus SharedStore, which
// needs Web Locks, BroadcastChannel and OPFS (and dist/shared-worker.js). tsup builds it with
// browser-only swaps (tsup.config.ts): persistence.ts becomes persistence-browser.ts, so the
// bundle has no `node:` import. test/browser.test.ts checks the export lists stay in step.
export * from './api.js';
// SharedStore (browsers only: Web Locks, BroadcastChannel, OPFS): one store for every tab.
export { SharedStore } from './shared/shared-store.js';
export type { SharedStoreOptions, SharedWriteOp } from './shared/shared-store.js';
