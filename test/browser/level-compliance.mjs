// abstract-level's compliance suite (tape) against StrataLevel in memory, in the page:
// bundled by test/browser.test.ts, which waits for window.tap.done and reads tape's TAP text.
import tape from 'tape';
import suite from 'abstract-level/test/index.js';
import { StrataLevel } from 'strata-kv/level';

const out = [];
tape.createStream().on('data', (chunk) => out.push(chunk));
tape.onFinish(() => { window.tap = { done: true, text: out.join('') }; });
window.StrataLevel = StrataLevel;
suite({ test: tape, factory: (options) => new StrataLevel(options) });
