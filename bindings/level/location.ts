// Whether a StrataLevel location already holds a store (for createIfMissing and
// errorIfExists): a directory does once a Store has written its MANIFEST there
// (docs/FORMAT.md). Browser builds swap in level/location-browser.ts (tsup.config.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function storeExistsAt(location: string): boolean {
  return existsSync(join(location, 'MANIFEST'));
}
