// Data-driven test files in the format of cockroachdb/datadriven (as Pebble uses them):
//
//   # a comment
//   command arg=value flag
//   input line
//   ----
//   expected output
//   <blank line>
//
// A case is a command line, its input lines, a `----` line, and the expected output up to
// the next blank line (an output never holds a blank line). Comments and blank lines sit
// between cases. With REWRITE=1 the runner records what each case printed and writes it
// back in place of the expected output, leaving everything else as it was; the diff is
// then reviewed by hand like any other change.
import { readFileSync, writeFileSync } from 'node:fs';

export interface Case {
  /** 1-based line of the command. */
  line: number;
  command: string;
  args: Map<string, string>;
  input: string[];
  expected: string;
  /** Lines [from, to) (0-based) holding the expected output. */
  from: number;
  to: number;
}

export const rewriting = process.env.REWRITE === '1';

/** The cases of a testdata file; a malformed file throws, naming the line. */
export function parseCases(file: string, text: string): Case[] {
  const lines = text.split('\n');
  const cases: Case[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (l.trim() === '' || l.startsWith('#')) { i++; continue; }
    const line = i + 1;
    const [command, ...rest] = l.trim().split(/\s+/);
    const args = new Map<string, string>();
    for (const r of rest) {
      const eq = r.indexOf('=');
      if (eq < 0) args.set(r, '');
      else args.set(r.slice(0, eq), r.slice(eq + 1));
    }
    i++;
    const input: string[] = [];
    while (i < lines.length && lines[i] !== '----') {
      if (lines[i].trim() === '') throw new Error(`${file}:${line}: a blank line before '----'`);
      input.push(lines[i++]);
    }
    if (i >= lines.length) throw new Error(`${file}:${line}: no '----' after the command`);
    i++;
    const from = i;
    while (i < lines.length && lines[i].trim() !== '') i++;
    cases.push({ line, command, args, input, expected: lines.slice(from, i).join('\n'), from, to: i });
  }
  return cases;
}

/** The file with each case's expected output replaced by `actual` (by case index). */
export function rewritten(text: string, cases: Case[], actual: Map<number, string>): string {
  const lines = text.split('\n');
  for (let c = cases.length - 1; c >= 0; c--) {
    const out = actual.get(c);
    if (out === undefined) continue;
    lines.splice(cases[c].from, cases[c].to - cases[c].from, ...(out === '' ? [] : out.split('\n')));
  }
  return lines.join('\n');
}

/** Reads a file's cases, and (rewriting) writes it back with what `actual` recorded. */
export function testdata(path: string): { cases: Case[]; save: (actual: Map<number, string>) => void } {
  const text = readFileSync(path, 'utf8');
  const cases = parseCases(path, text);
  return { cases, save: (actual) => writeFileSync(path, rewritten(text, cases, actual)) };
}
