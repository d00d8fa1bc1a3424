// The layout's rules (docs/ARCHITECTURE.md), enforced on every `npm test` rather than by
// convention. bindings/ is layered; an import may go to its own folder or down, never up:
//
//   6  api.ts, index.ts, browser.ts, cli/      the entries
//   5  partition/, standby/                    built on Store
//   4  store/                                  the Store
//   3  changelog/                              sinks, sources, restore
//   2  storage/                                a store's directory
//   1  engine/                                 the Wasm module and its ABI
//   0  errors.ts, codecs.ts, crc32c.ts,        the public vocabulary
//      key-range.ts
//
// nats/ and level/ are the strata-kv/nats and strata-kv/level packages: they reach the core
// only through its public entry ('strata-kv'), besides their own folder and the vocabulary.
// Only engine/ loads the Wasm binary, and only engine/ reads the engine's exports (`.x`) or
// its result region: everything else calls the typed methods of engine/abi.ts's Engine.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bindings = join(root, 'bindings');

const RANK: Record<string, number> = {
  'errors.ts': 0, 'codecs.ts': 0, 'crc32c.ts': 0, 'key-range.ts': 0,
  engine: 1, storage: 2, changelog: 3, store: 4, partition: 5, standby: 5,
  'api.ts': 6, 'index.ts': 6, 'browser.ts': 6, cli: 6,
};
const PACKAGES = new Set(['nats', 'level']);
const VOCABULARY = new Set(['errors.ts', 'codecs.ts', 'crc32c.ts', 'key-range.ts']);

/** Reading the engine's exports (`e.x.flush()`, `const x = e.x;`) or its result region. */
const ABI_TOUCH = /\w\.x(?=[.;])|\bresultPtr\b/;


/** Every .ts file of bindings/, relative to it (the generated Wasm module left out). */
function sources(): string[] {
  return (readdirSync(bindings, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('wasm-binary.ts'))
    .map((f) => f.split('\\').join('/'))
    .sort();
}

/** The part of the design a bindings file belongs to: its folder, or its name at the top. */
const partOf = (file: string): string => (file.includes('/') ? file.split('/')[0] : file);

/** The module specifiers a file's text imports or re-exports. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"\n]*?(?:from\s*)?['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

const readSource = (f: string) => readFileSync(join(bindings, f), 'utf8');

/** What breaks the rules among `files` (paths relative to bindings/): one line each. */
function layoutViolations(files: string[], read: (f: string) => string): string[] {
  const out: string[] = [];
  for (const file of files) {
    const part = partOf(file);
    const text = read(file);
    for (const spec of importsOf(text)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(bindings, normalize(join(bindings, dirname(file), spec))).split('\\').join('/').replace(/\.js$/, '.ts');
      const to = partOf(target);
      if (to === part) continue;
      if (target.endsWith('wasm-binary.ts') && part !== 'engine') out.push(`${file}: only engine/ loads the Wasm binary`);
      if (PACKAGES.has(part)) {
        if (!VOCABULARY.has(to)) out.push(`${file} -> ${target}: ${part}/ reaches the core only through 'strata-kv'`);
        continue;
      }
      if (PACKAGES.has(to)) { out.push(`${file} -> ${target}: the core does not import the ${to} package`); continue; }
      const from = RANK[part], down = RANK[to];
      if (from === undefined || down === undefined) { out.push(`${file} -> ${target}: a part the layout does not know (add it to RANK)`); continue; }
      if (down > from) out.push(`${file} -> ${target}: an import up the layers (${part} ${from} -> ${to} ${down})`);
    }
    if (part !== 'engine' && ABI_TOUCH.test(text)) {
      out.push(`${file}: reads the engine's exports or result region; go through engine/`);
    }
  }
  return out;
}

describe('the layout of bindings/ (docs/ARCHITECTURE.md)', () => {
  it('imports only go to their own folder or down; nats/ and level/ use the public entry; only engine/ touches the ABI', () => {
    expect(layoutViolations(sources(), readSource)).toEqual([]);
  });

  it('the rules catch what they are for: a new file reaching into the ABI, an upward import, a package reaching inside', () => {
    const fake: Record<string, string> = {
      'store/new-feature.ts': 'import type { Engine } from "../engine/abi.js";\nexport const f = (e: Engine) => e.x.flush();\n',
      'storage/upward.ts': 'import type { Store } from "../store/store.js";\nexport type S = Store;\n',
      'nats/inside.ts': 'import type { Store } from "../store/store.js";\nexport type S = Store;\n',
      'store/fine.ts': 'import { StrataError } from "../errors.js";\nimport { Status } from "../engine/abi.js";\nexport { StrataError, Status };\n',
    };
    expect(layoutViolations(Object.keys(fake), (f) => fake[f])).toEqual([
      "store/new-feature.ts: reads the engine's exports or result region; go through engine/",
      'storage/upward.ts -> store/store.ts: an import up the layers (storage 2 -> store 4)',
      "nats/inside.ts -> store/store.ts: nats/ reaches the core only through 'strata-kv'",
    ]);
  });
});
