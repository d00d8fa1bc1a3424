// The script of the Worker a page starts when it is elected to own a SharedStore
// (dist/shared-worker.js, beside dist/browser.js: shared/shared-store.ts finds it with
// new URL('./shared-worker.js', import.meta.url)). The build keeps './browser.js' an import
// (tsup.config.ts), so the worker shares the entry's module and this file stays two lines.
import { SharedStore } from './browser.js';

SharedStore.serve();
