// Bundles a browser entry (a test page's script, the browser benchmark) with esbuild, as a
// user's bundler would: 'strata-kv' and 'strata-kv/level' resolve through package.json
// "exports" with the "browser" condition, so the page runs the built dist/ files (or an
// installed package's, when the entry sits beside its node_modules).
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * Writes `outfile` (ESM) from `entry`. abstract-level requires Node's 'events', which
 * browsers lack: it gets the npm `events` package, as browserify would provide it. With
 * `nodeShims`, tape's Node needs are met too: its legacy streams by stream-browserify (as
 * browserify does), process and path.sep by node-shims.mjs. Only the test harness needs
 * them, never strata-kv.
 */
export async function bundleForBrowser({ entry, outfile, nodeShims = false, minify = false }) {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: 'linked',
    // Ignore the repository's tsconfig "paths" (which point 'strata-kv' at the TypeScript
    // sources for vitest): the point is to bundle the built package.
    tsconfigRaw: '{}',
    alias: { events: require.resolve('events/'), ...(nodeShims ? { stream: require.resolve('stream-browserify') } : {}) },
    inject: nodeShims ? [fileURLToPath(new URL('./node-shims.mjs', import.meta.url))] : [],
    plugins: nodeShims ? [{
      name: 'path-sep',
      setup(b) {
        b.onResolve({ filter: /^path$/ }, () => ({ path: 'path', namespace: 'node-shim' }));
        b.onLoad({ filter: /.*/, namespace: 'node-shim' }, () => ({ contents: "export const sep = '/'; export default { sep };", loader: 'js' }));
      },
    }] : [],
    logLevel: 'silent',
    metafile: true,
  });
  return result.metafile;
}
