// The public API of strata-kv in Node: everything a user imports comes from here; every
// other file in bindings/ is internal. api.ts lists what every entry point shares.
export * from './api.js';
export { FileChangelog } from './changelog/file-changelog.js';
