// The layout's rules (docs/ARCHITECTURE.md), enforced on every `npm test` rather than by
// convention. bindings/ is layered; an import may go to its own folder or down, never up:
//
//   6  api.ts, index.ts, browser.ts,           the entries
//      shared-worker.ts, cli/
//   5  partition/, standby/, window/, shared/  built on Store
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
import { posix } from 'node:path';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const bindings = join(root, 'bindings');

const RANK: Record<string, number> = {
  'errors.ts': 0, 'codecs.ts': 0, 'byte-pool.ts': 0, 'crc32c.ts': 0, 'key-range.ts': 0,
  engine: 1, storage: 2, changelog: 3, background: 3, store: 4, partition: 5, standby: 5, window: 5, shared: 5,
  'api.ts': 6, 'index.ts': 6, 'browser.ts': 6, 'shared-worker.ts': 6, cli: 6,
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

/** The module specifiers a file's text imports or re-exports (TypeScript's scanner: an import
 *  list over several lines counts, a string that merely looks like one does not). */
function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
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

// No import cycles, in bindings/ or in assembly/: with imports going one way a module can be
// read, tested and loaded after the ones it names. Type-only imports count too: a type cycle
// ties two files together as firmly (8e70215 removed the last one, snapshot <-> store).

/** The import graph of the .ts files under `dir` (paths relative to it), edges to files in it only.
 *  `./x.js` and AssemblyScript's `./x` name `x.ts`; `strata-kv[/sub]` names the package entry. */
function importGraph(dir: string): Map<string, string[]> {
  const files = (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('wasm-binary.ts'))
    .map((f) => f.split('\\').join('/'))
    .sort();
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(readFileSync(join(dir, file), 'utf8')).map((spec) => {
      if (spec === 'strata-kv') return 'index.ts';
      if (spec.startsWith('strata-kv/')) return `${spec.slice('strata-kv/'.length)}/index.ts`;
      if (!spec.startsWith('.')) return undefined;
      const path = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      return path.endsWith('.ts') ? path : `${path}.ts`;
    });
    graph.set(file, [...new Set(targets.filter((t): t is string => t !== undefined && known.has(t)))]);
  }
  return graph;
}

/** One cycle per strongly connected component that has one (Tarjan), each as
 *  `a.ts -> b.ts -> a.ts`, starting from its first file in sort order. */
function importCycles(graph: Map<string, string[]>): string[] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, index.size); low.set(v, index.get(v)!); stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { connect(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
    components.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  const out: string[] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0];
    if (component.length === 1 && !(graph.get(start) ?? []).includes(start)) continue;
    // The shortest way back to `start` inside the component (breadth first).
    const from = new Map<string, string>();
    const queue = [start];
    let last: string | undefined;
    for (let i = 0; i < queue.length && last === undefined; i++) {
      for (const w of graph.get(queue[i]) ?? []) {
        if (w === start) { last = queue[i]; break; }
        if (members.has(w) && !from.has(w)) { from.set(w, queue[i]); queue.push(w); }
      }
    }
    const path = [start];
    for (let v = last!; v !== start; v = from.get(v)!) path.splice(1, 0, v);
    out.push([...path, start].join(' -> '));
  }
  return out.sort();
}

describe('no import cycles', () => {
  it('bindings/ has none, type-only imports and the strata-kv entries included', () => {
    const graph = importGraph(bindings);
    expect(graph.size).toBeGreaterThan(40);
    expect(importCycles(graph)).toEqual([]);
  });

  it('assembly/ has none', () => {
    const graph = importGraph(join(root, 'assembly'));
    expect(graph.get('index.ts')).toContain('engine.ts');
    expect(importCycles(graph)).toEqual([]);
  });

  it('the check names each cycle (two files, across folders, a self-import); the scanner reads type-only, multi-line, re-export and side-effect imports', () => {
    const fake = new Map<string, string[]>([
      ['store/snapshot.ts', ['store/store.ts']], ['store/store.ts', ['store/snapshot.ts', 'errors.ts']],
      ['a.ts', ['b/c.ts']], ['b/c.ts', ['b/d.ts']], ['b/d.ts', ['a.ts', 'errors.ts']],
      ['self.ts', ['self.ts']], ['errors.ts', []],
    ]);
    expect(importCycles(fake)).toEqual([
      'a.ts -> b/c.ts -> b/d.ts -> a.ts',
      'self.ts -> self.ts',
      'store/snapshot.ts -> store/store.ts -> store/snapshot.ts',
    ]);
    expect(importsOf('import type { Store } from "./store.js";\nimport {\n  a,\n  b,\n} from "../x.js";\nexport * from "./y.js";\nimport "./abort";\n'))
      .toEqual(['./store.js', '../x.js', './y.js', './abort']);
  });
});

describe('the layer rules read every import', () => {
  it('an import list over several lines is seen (the one-line pattern missed it)', () => {
    const fake: Record<string, string> = {
      'storage/upward.ts': 'import type {\n  Store,\n  StoreOptions,\n} from "../store/store.js";\nexport type S = [Store, StoreOptions];\n',
      'store/reexport.ts': 'export {\n  PartitionedStore,\n} from "../partition/partitioned-store.js";\n',
    };
    expect(layoutViolations(Object.keys(fake), (f) => fake[f])).toEqual([
      'storage/upward.ts -> store/store.ts: an import up the layers (storage 2 -> store 4)',
      'store/reexport.ts -> partition/partitioned-store.ts: an import up the layers (store 4 -> partition 5)',
    ]);
  });
});

// Outside bindings/, two files may load a Wasm module: test/support/units-wasm.ts, the unit
// harness of test/engine-units.test.ts, and bench/checksum.mjs. Each loads its own build
// (build/units.wasm from assembly/testing/units.ts; the checksums of bench/checksum/entry.ts),
// never the engine's ABI module; every other test, benchmark and script reaches the engine
// through bindings/.
const UNITS_LOADER = 'test/support/units-wasm.ts';
/** bench/checksum.mjs times the two block checksums alone: it compiles and loads its own
 *  module of them (bench/checksum/entry.ts), not the engine's. */
const CHECKSUM_BENCH = 'bench/checksum.mjs';
const WASM_LOAD = /\bnew\s+WebAssembly\.(?:Module|Instance)\b|\bWebAssembly\.(?:instantiate|compile)\w*\s*\(/;

/** Files outside bindings/ (paths from the root) that instantiate a Wasm module or import the
 *  embedded one, the harness excepted (and this file, whose self-test plants examples). */
function wasmLoaders(files: string[], read: (f: string) => string): string[] {
  return files.filter((f) => f !== UNITS_LOADER && f !== CHECKSUM_BENCH && f !== 'test/architecture.test.ts')
    .filter((f) => { const t = read(f); return WASM_LOAD.test(t) || importsOf(t).some((s) => /wasm-binary(?:\.[jt]s)?$/.test(s)); })
    .map((f) => `${f}: loads a Wasm module outside bindings/engine/`);
}

describe('loading Wasm outside bindings/', () => {
  const outside = ['test', 'bench', 'scripts', 'examples', 'bin'].flatMap((d) =>
    (readdirSync(join(root, d), { recursive: true }) as string[])
      // build/ (git-ignored) holds bundles of the built package, e.g. bench:browser's pages.
      .filter((f) => /\.(?:ts|mjs|js)$/.test(f) && !f.includes('node_modules') && !f.split(/[\\/]/).includes('build'))
      .map((f) => `${d}/${f.split('\\').join('/')}`));

  it(`only ${UNITS_LOADER} does (the unit harness, on its own test build)`, () => {
    expect(wasmLoaders(outside, (f) => readFileSync(join(root, f), 'utf8'))).toEqual([]);
  });

  it('the rule catches a test that instantiates a module, and lets the harness through', () => {
    const fake: Record<string, string> = {
      'test/sneaky.test.ts': 'const i = new WebAssembly.Instance(m, {});\n',
      'bench/raw.mjs': "import { WASM_BASE64 } from '../bindings/engine/wasm-binary.js';\n",
      [UNITS_LOADER]: 'const m = new WebAssembly.Module(bytes);\n',
    };
    expect(wasmLoaders(Object.keys(fake), (f) => fake[f])).toEqual([
      'test/sneaky.test.ts: loads a Wasm module outside bindings/engine/',
      'bench/raw.mjs: loads a Wasm module outside bindings/engine/',
    ]);
  });
});
