// The strata-kv adapter (strata-kv-store.mjs) over the built package, for the Node suites:
// Store.open's defaults, so compaction runs on the background worker thread.
// strata-kv-slices.mjs is the same store opened with `background: false`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { strataKvAdapter } from './strata-kv-store.mjs';

// The built package: the runners point STRATA_BENCH_DIST at a copy of dist/ taken when the
// run starts (lib/dist.mjs), so a rebuild during the run cannot mix two builds; otherwise
// dist/ itself.
const entry = process.env.STRATA_BENCH_DIST
  ? pathToFileURL(process.env.STRATA_BENCH_DIST)
  : new URL('../../dist/index.js', import.meta.url);
/** Identifies the build measured; the driver checks every round used the same one. */
export const build = createHash('sha256').update(readFileSync(entry)).digest('hex').slice(0, 12);

/** The built package itself (strata-kv-slices.mjs makes its variant from it). */
export const pkg = await import(entry.href);

export default strataKvAdapter(pkg, build);
