// The built package (dist/) as users load it: `import` and `require` of 'strata-kv' from a
// separate Node process, resolved through package.json "exports" (a self-reference), so the
// embedded Wasm, the ESM and the CJS bundles are all exercised for real.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = `
  const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.json });
  s.put('b', { n: 2 }); s.put('a', { n: 1 });
  const out = JSON.stringify([...s.all()]);
  await s.close();
  console.log(out + ' ' + (new StrataError('CLOSED', 'x') instanceof Error));
`;

describe('the built package', () => {
  it('exists (npm test builds it first)', () => {
    expect(existsSync(root + 'dist/index.js') && existsSync(root + 'dist/index.cjs') && existsSync(root + 'dist/index.d.ts')).toBe(true);
    expect(existsSync(root + 'dist/browser.js') && existsSync(root + 'dist/browser.d.ts') && existsSync(root + 'dist/level-browser.js')).toBe(true);
  });
  it('works from import', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e',
      `import { Store, codecs, StrataError } from 'strata-kv';\n${script}`], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('[["a",{"n":1}],["b",{"n":2}]] true');
  });
  it('works from require', () => {
    const out = execFileSync(process.execPath, ['-e',
      `const { Store, codecs, StrataError } = require('strata-kv');\n(async () => {${script}})().catch((e) => { console.error(e); process.exit(1); });`],
      { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('[["a",{"n":1}],["b",{"n":2}]] true');
  });
  it('resolves to the browser build under the "browser" condition (as bundlers do)', () => {
    // Node can load dist/browser.js too (it only needs WebAssembly and atob), which makes the
    // export condition checkable here; test/browser.test.ts runs it in Chromium.
    const out = execFileSync(process.execPath, ['--conditions=browser', '--input-type=module', '-e',
      `import * as m from 'strata-kv'; const { Store, codecs, StrataError } = m;\n${script}
       console.log(import.meta.resolve('strata-kv').replace(/^.*\\/dist\\//, 'dist/') + ' ' + ('FileChangelog' in m));`],
      { cwd: root, encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(['[["a",{"n":1}],["b",{"n":2}]] true', 'dist/browser.js false']);
  });
});
