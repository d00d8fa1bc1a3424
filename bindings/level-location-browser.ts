// level-location.ts in browser builds (tsup.config.ts). A location would be an OPFS
// directory; no store can exist there yet, and opening one makes Store.open fail with
// persistence-browser.ts's INVALID_ARGUMENT, which says why. (No StrataError import here:
// the level bundle must share the main entry's classes through 'strata-kv'.)
// INVARIANT: same exports as level-location.ts.
import type { storeExistsAt as nodeStoreExistsAt } from './level-location.js';

export const storeExistsAt: typeof nodeStoreExistsAt = () => false;
