// Where a worker thread's script is: dist/<name> beside the bundle that loads this module;
// from the sources (the test suite) the built one, which the tests' global setup keeps fresh.
// Undefined when neither is there (an app that bundled strata-kv into a file of its own):
// the work stays on the store's thread.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function builtScript(name: string): URL | undefined {
  for (const url of [new URL(`./${name}`, import.meta.url), new URL(`../../dist/${name}`, import.meta.url)]) {
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}
