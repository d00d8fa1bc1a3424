// docs/API.md is the reference: every public name must have an entry. The names are derived,
// never listed here, so that a new export, method or option cannot silently go undocumented:
// - every export of each entry point ('strata-kv', 'strata-kv/nats', 'strata-kv/level'),
//   loaded as a user loads it;
// - every exported class's public methods and accessors, static and on the prototype chain,
//   found at run time and filtered by the TypeScript source (the TypeScript compiler API
//   parses bindings/): a member declared private, protected or `@internal` is not public;
//   a chain leaving bindings/ (StrataLevel's AbstractLevel) is abstract-level's reference;
// - the option names of every options type an entry point exports (read from the entry
//   files' export lists) and of FileChangelogOptions (a parameter type, not exported), read
//   from their declarations, and the codes of StrataErrorCode.
// A class's members must appear in its own section of API.md (the `## ` heading naming it).
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as core from 'strata-kv';
import * as nats from 'strata-kv/nats';
import * as level from 'strata-kv/level';

const root = fileURLToPath(new URL('..', import.meta.url));
const api = readFileSync(join(root, 'docs/API.md'), 'utf8');

/** Every bindings/ source, parsed. */
const sources: ts.SourceFile[] = (readdirSync(join(root, 'bindings'), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && !f.endsWith('wasm-binary.ts'))
  .map((f) => ts.createSourceFile(f, readFileSync(join(root, 'bindings', f), 'utf8'), ts.ScriptTarget.Latest, true));

function declarations(): { classes: Map<string, ts.ClassDeclaration>; types: Map<string, ts.Node> } {
  const classes = new Map<string, ts.ClassDeclaration>();
  const types = new Map<string, ts.Node>();
  for (const sf of sources) {
    ts.forEachChild(sf, (n) => {
      if (ts.isClassDeclaration(n) && n.name) classes.set(n.name.text, n);
      if ((ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) && !types.has(n.name.text)) types.set(n.name.text, n);
    });
  }
  return { classes, types };
}
const { classes, types } = declarations();

/** Whether a class member is outside the public API: private, protected, #private or @internal. */
function hidden(m: ts.ClassElement): boolean {
  if (m.name && ts.isPrivateIdentifier(m.name)) return true;
  const mods = ts.canHaveModifiers(m) ? ts.getModifiers(m) ?? [] : [];
  if (mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) return true;
  return ts.getJSDocTags(m).some((t) => t.tagName.text === 'internal') || /@internal/.test(m.getFullText().slice(0, m.getLeadingTriviaWidth()));
}

/** The public member names a class declaration gives, or undefined if not in bindings/. */
function publicMembers(name: string): { visible: Set<string>; declared: Set<string> } | undefined {
  const c = classes.get(name);
  if (c === undefined) return undefined;
  const visible = new Set<string>(), declared = new Set<string>();
  for (const m of c.members) {
    if (!m.name || ts.isComputedPropertyName(m.name)) continue;
    const n = m.name.getText();
    declared.add(n);
    if (!hidden(m)) visible.add(n);
  }
  return { visible, declared };
}

/** A class's public methods and accessors, static and along its prototype chain while the
 *  chain's classes are declared in bindings/, and the public fields its declaration has
 *  (fields live on instances, so only the source shows them). */
/** A class, as the runtime sees it (a Function with its name and prototype). */
interface ClassValue { readonly name: string; readonly prototype: object | null }

function methodsOf(cls: ClassValue): string[] {
  const out = new Set<string>();
  const own = publicMembers(cls.name);
  for (const m of classes.get(cls.name)?.members ?? []) {
    if (ts.isPropertyDeclaration(m) && !hidden(m) && m.name && !ts.isComputedPropertyName(m.name)) {
      const isStatic = (ts.getModifiers(m) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
      out.add(isStatic ? `${cls.name}.${m.name.getText()}` : `${cls.name}.prototype.${m.name.getText()}`);
    }
  }
  for (const n of Object.getOwnPropertyNames(cls)) {
    if (['length', 'name', 'prototype'].includes(n)) continue;
    if (own === undefined || own.visible.has(n) || !own.declared.has(n)) out.add(`${cls.name}.${n}`);
  }
  for (let p = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const decl = publicMembers(p.constructor.name);
    if (decl === undefined) break; // the rest is another package's API (abstract-level)
    for (const n of Object.getOwnPropertyNames(p)) {
      if (n === 'constructor' || !decl.declared.has(n) || !decl.visible.has(n)) continue;
      out.add(`${cls.name}.prototype.${n}`);
    }
  }
  return [...out];
}

/** The section of API.md whose `## ` heading names `name` in a code span, else the first
 *  whose text does (a class documented inside another's section, e.g. LevelError). */
function sectionOf(name: string): string | undefined {
  const parts = api.split(/\n(?=## )/);
  return parts.find((s) => new RegExp('^## .*`' + name + '`').test(s))
    ?? parts.find((s) => s.startsWith('## ') && inCode(s, name));
}

/** Whether `text` shows `name` as a word of code: in an inline code span (`name`,
 *  `x.name(...)`, `{ name }`...) or a fenced block; prose does not count. */
function inCode(text: string, name: string): boolean {
  const blocks = text.match(/```[\s\S]*?```/g) ?? [];
  const spans = text.replace(/```[\s\S]*?```/g, ' ').match(/`[^`\n]+`/g) ?? [];
  const word = new RegExp(`(^|[^A-Za-z0-9_$])${name.replace(/\$/g, '\\$')}([^A-Za-z0-9_$]|$)`);
  return [...blocks, ...spans].some((s) => word.test(s));
}

/** The member names of an interface or object type alias (intersections followed). */
function optionNames(typeName: string): string[] {
  const node = types.get(typeName);
  if (node === undefined) throw new Error(`no declaration of ${typeName} in bindings/`);
  const names: string[] = [];
  const visit = (t: ts.Node): void => {
    if (ts.isInterfaceDeclaration(t) || ts.isTypeLiteralNode(t)) {
      for (const m of t.members) {
        if (!m.name || ts.isComputedPropertyName(m.name) || /@internal/.test(m.getFullText().slice(0, m.getLeadingTriviaWidth()))) continue;
        names.push(m.name.getText());
      }
    } else if (ts.isTypeAliasDeclaration(t)) visit(t.type);
    else if (ts.isIntersectionTypeNode(t)) t.types.forEach(visit);
    else if (ts.isParenthesizedTypeNode(t)) visit(t.type);
    // A reference to another declared options type (StoreOptions<K, V> & {...}) is checked on its own.
  };
  visit(node);
  return names;
}

const entries = { 'strata-kv': core, 'strata-kv/nats': nats, 'strata-kv/level': level } as Record<string, Record<string, unknown>>;

/** The names the entry files export (types included), following `export *` within bindings/. */
function exportedNames(): Set<string> {
  const out = new Set<string>();
  const byPath = new Map(sources.map((sf) => [sf.fileName, sf]));
  const visit = (file: string): void => {
    const sf = byPath.get(file);
    if (sf === undefined) return;
    for (const st of sf.statements) {
      if (!ts.isExportDeclaration(st)) continue;
      if (st.exportClause && ts.isNamedExports(st.exportClause)) for (const e of st.exportClause.elements) out.add(e.name.text);
      else if (st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) && st.moduleSpecifier.text.startsWith('./')) {
        visit(st.moduleSpecifier.text.slice(2).replace(/\.js$/, '.ts'));
      }
    }
    ts.forEachChild(sf, (n) => {
      const exported = ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (exported && (ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n) || ts.isClassDeclaration(n)) && n.name) out.add(n.name.text);
    });
  };
  for (const f of ['index.ts', 'nats/index.ts', 'level/index.ts']) visit(f);
  return out;
}

describe('docs/API.md names every public name', () => {
  it('every export of every entry point', () => {
    const missing: string[] = [];
    for (const [entry, mod] of Object.entries(entries)) {
      for (const name of Object.keys(mod)) if (!inCode(api, name)) missing.push(`${entry}: ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it('every public method of every exported class, in that class\'s section', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const mod of Object.values(entries)) {
      for (const [name, value] of Object.entries(mod)) {
        if (typeof value !== 'function' || !/^[A-Z]/.test(name) || !classes.has(name)) continue;
        const section = sectionOf(name);
        if (section === undefined) { missing.push(`${name}: no "## " section naming \`${name}\``); continue; }
        for (const m of methodsOf(value)) {
          checked++;
          const member = m.split('.').pop()!;
          if (!inCode(section, member)) missing.push(m);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(60); // the derivation found the classes' methods
  });

  it('every option and error code', () => {
    const missing: string[] = [];
    const sets: [string, string | undefined][] = [
      ['StoreOptions', undefined], ['PartitionedStoreOptions', 'PartitionedStore'],
      ['StandbyOptions', 'Standby'], ['NatsChangelogOptions', 'NatsChangelog'], ['FileChangelogOptions', 'FileChangelog'],
    ];
    for (const [type, cls] of sets) {
      const names = optionNames(type);
      expect(names.length, type).toBeGreaterThan(0);
      const text = cls === undefined ? api : sectionOf(cls) ?? '';
      for (const n of names) if (!inCode(text, n)) missing.push(`${type}.${n}`);
    }
    // Any other exported options type, against the whole reference.
    const others = [...exportedNames()].filter((n) => n.endsWith('Options') && !sets.some(([t]) => t === n));
    expect(others).toContain('RestoreOptions');
    for (const type of others) {
      if (!inCode(api, type)) missing.push(type);
      for (const n of optionNames(type)) if (!inCode(api, n)) missing.push(`${type}.${n}`);
    }
    const codes = (types.get('StrataErrorCode') as ts.TypeAliasDeclaration).type as ts.UnionTypeNode;
    const codeNames = codes.types.map((t) => ((t as ts.LiteralTypeNode).literal as ts.StringLiteral).text);
    expect(codeNames).toContain('CORRUPTION');
    const errors = sectionOf('StrataError') ?? '';
    for (const c of codeNames) if (!inCode(errors, c)) missing.push(`StrataErrorCode ${c}`);
    expect(missing).toEqual([]);
  });

  it('the checks catch what they are for: an undocumented name fails', () => {
    expect(inCode(api, 'noSuchMethodAnywhere')).toBe(false);
    expect(inCode('see `store.range({ gte })`', 'gte')).toBe(true);
    expect(inCode('see `store.rangeX()`', 'range')).toBe(false);
    expect(inCode('```ts\na()\n```\nprose names foo here\n```ts\nb()\n```', 'foo')).toBe(false);
    expect(inCode('```ts\nconst x = foo();\n```', 'foo')).toBe(true);
    // Store's private and @internal members are not public; its public ones are found.
    const store = methodsOf(core.Store);
    expect(store).toContain('Store.prototype.putIfAbsent');
    expect(store).toContain('Store.prototype.range'); // declared in reads.ts, a layer of Store
    expect(store).toContain('Store.open');
    expect(store).not.toContain('Store.prototype.applyBatch');
    expect(store).not.toContain('Store.prototype.readGet');
  });
});
