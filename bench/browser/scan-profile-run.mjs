// Where bench:browser's scan time goes: runs scan-profile.mjs's variants in headless Chromium
// (the page main thread, as bench:browser's in-memory peers) or, with --node, in this Node, on
// the built package (dist/: `npm run build` first). Prints entries/s per variant: the first
// pass (bench:browser times one scan per round) and the median of the later ones.
//
//   node bench/browser/scan-profile-run.mjs [--entries 100000] [--passes 5] [--node]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../lib/args.mjs';
import { root } from '../lib/dist.mjs';
import { compact } from '../lib/table.mjs';
import { bundleForBrowser } from '../../scripts/browser-bundle.mjs';
import { ensureChromium, launchChromium, openPage } from '../../scripts/chromium.mjs';
import { startStaticServer } from '../../scripts/static-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const opts = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 100_000, min: 1000 },
  passes: { type: 'int', default: 5, min: 1 },
  node: { type: 'on' },
}, { usage: 'node bench/browser/scan-profile-run.mjs [--entries N] [--passes P] [--node]' });

if (!existsSync(join(root, 'dist/browser.js'))) throw new Error('dist/ is missing: run `npm run build` first');
let result, where;
if (opts.node) {
  const strata = await import(join(root, 'dist/index.js'));
  const { MemoryLevel } = await import('memory-level');
  const { StrataLevel } = await import(join(root, 'dist/level.js'));
  const { profileScan } = await import('./scan-profile.mjs');
  result = await profileScan({ strata, MemoryLevel, StrataLevel, entries: opts.entries, passes: opts.passes });
  where = `Node ${process.version}`;
} else {
  const { bin, reason } = ensureChromium();
  if (!bin) throw new Error(`Chromium unavailable: ${reason}`);
  await bundleForBrowser({ entry: join(here, 'scan-page.mjs'), outfile: join(here, 'build/scan-page.js'), minify: true });
  const server = await startStaticServer({ '/': here });
  const browser = await launchChromium(bin);
  try {
    const page = await openPage(browser, `${server.url}scan-profile.html`);
    await page.waitForFunction(() => window.profileReady === true, undefined, { timeout: 30_000 });
    result = await page.evaluate((o) => window.profileScan(o), { entries: opts.entries, passes: opts.passes });
    if (page.errors.length) throw page.errors[0];
    where = `Chromium ${browser.version()} (page main thread)`;
  } finally {
    await browser.close();
    await server.close();
  }
}
console.log(`${where}: ${opts.entries.toLocaleString('en-US')} entries, entries/s: first pass | median of passes 2…${opts.passes}`);
for (const [name, r] of Object.entries(result)) {
  console.log(`${name.padEnd(52)} ${compact(r.first).padStart(8)} ${compact(r.warm).padStart(8)}`);
}
