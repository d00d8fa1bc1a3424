// The script of the Worker a page starts when it is elected to own a SharedStore
// (dist/shared-worker.js, beside dist/browser.js: shared/shared-store.ts finds it with
// new URL('./shared-worker.js', import.meta.url)). It imports the owner's side only, not the
// browser entry: the entry holds that `new Worker(new URL(...))`, and a worker whose code
// starts itself is a cycle of chunks to webpack (a build warning in every app using it). The
// build puts what the worker shares with the entry in a chunk both import.
import { serveOwner } from './shared/owner-host.js';

serveOwner();
