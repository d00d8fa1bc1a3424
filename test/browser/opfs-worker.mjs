// A module Worker for test/browser-opfs.test.ts: runs the functions the test sends (as source
// text) against the built browser entry, where OPFS persistence lives (sync access handles
// exist only in dedicated Workers). `state` keeps stores and changelogs between calls.
import * as strata from '/dist/browser.js';

const state = {};
self.onmessage = async ({ data: { id, src, arg } }) => {
  try {
    // biome-ignore lint/complexity/noCommaOperator: indirect eval, global scope, on purpose
    // biome-ignore lint/security/noGlobalEval: src is the test's own function text
    const fn = (0, eval)(`(${src})`);
    postMessage({ id, value: await fn(strata, state, arg) });
  } catch (err) {
    postMessage({ id, error: { name: err?.name, code: err?.code, message: String(err?.message ?? err) } });
  }
};
postMessage({ ready: true });
