// Offline inspection and verification of a store directory (docs/FORMAT.md), for the
// `strata` command (bindings/cli/cli.ts). Nothing here writes: the directory is read as it is,
// without its LOCK and without recovery, so a damaged store can be examined before anyone
// opens it. Verification checks everything recovery would check, and a little more:
//   - the manifest parses and its checksum holds;
//   - every listed run file exists and imports into an engine (footer, index, bloom and every
//     data block checksum, CRC-32C or XXH64 as its format version says, entries in order:
//     the engine's own validation);
//   - runs of a level >= 1 are in key order and do not overlap;
//   - every log numbered at or above the manifest's `log` reads to its end (a torn tail is
//     reported, not an error: recovery drops it);
//   - files the manifest does not explain (stray runs, MANIFEST.tmp) are listed.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { instantiateEngine, CORRUPTION_WHAT, type Engine } from '../engine/abi.js';
import { resolveTuning } from '../store/options.js';
import { readManifest, type Manifest } from '../storage/manifest.js';
import { replayWal, WAL_BATCH } from '../storage/wal.js';
import { StrataError } from '../errors.js';
import { io } from '../storage/io-error.js';
import { heldWithoutManifest } from '../storage/recovery.js';
import { fileName, numbered, importRunImage, checkLevels } from '../storage/persistence-core.js';

export interface RunInfo {
  level: number;
  id: number;
  file: string;
  bytes: number;
  entries: number;
  tombstones: number;
  blocks: number;
  /** The run file's format version (docs/FORMAT.md) and the checksum kind it says. */
  format: number;
  checksum: 'CRC-32C' | 'XXH64';
  /** Bloom filter: bits per entry and probes (0 and 0 when the run has none). */
  bloomBitsPerKey: number;
  bloomProbes: number;
  /** The keys the run covers, entries and range tombstones, as the engine keeps the runs of
   *  a level >= 1 disjoint: `largestKey` is a tombstone's end (exclusive) when that is the
   *  higher, then `largestExclusive`. */
  smallestKey: Uint8Array;
  largestKey: Uint8Array;
  largestExclusive: boolean;
  /** Range tombstones in the run's range-del block (format versions 2, 4, 6). */
  rangeTombstones: number;
}

export interface LogInfo { file: string; bytes: number; records: number; firstSeq: number; lastSeq: number; tornTail: boolean }

export interface DirectoryReport {
  dir: string;
  manifest: Manifest | undefined;
  runs: RunInfo[];
  logs: LogInfo[];
  /** Files the manifest does not account for. */
  stray: string[];
  /** What verification found wrong; empty when the directory is sound. */
  problems: string[];
}

/** A fresh engine, for its readers of the run file format. */
async function freshEngine(): Promise<Engine> {
  const e = await instantiateEngine();
  e.init({ ...resolveTuning({}), autoCompaction: false });
  return e;
}

/** Reads what the footer and index of a run file say; throws CORRUPTION on a bad structure
 *  (the blocks' checksums are the engine's job, in verify). The footer is read and checked
 *  by the engine (`e`), as an import reads it, so its layout is written down once. */
export function runFileInfo(e: Engine, bytes: Uint8Array, file: string): Omit<RunInfo, 'level' | 'id' | 'file'> {
  const bad = (at: number, why: string) => new StrataError('CORRUPTION', `${file} at offset ${at}: ${why}`);
  if (bytes.length < 48) throw bad(0, CORRUPTION_WHAT[1]);
  const footer = e.runFooter(bytes.subarray(bytes.length - 48), bytes.length);
  if (!footer) throw bad(bytes.length - 48, CORRUPTION_WHAT[1]);
  const { indexOffset, indexLength, bloomOffset, bloomLength, entries, tombstones, version } = footer;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks = v.getUint32(indexOffset + indexLength - 8, true);
  // Index entries: offset u64 | length u32 | lastTag u64 | lastKeyLen u32 | lastKey.
  let p = indexOffset;
  let lastKey: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < blocks; i++) {
    if (p + 24 > indexOffset + indexLength - 8) throw bad(p, 'index entry runs past the index');
    const kl = v.getUint32(p + 20, true);
    lastKey = bytes.subarray(p + 24, p + 24 + kl);
    p += 24 + kl;
  }
  // The first entry of block 0: tag u64 | keyLen varint | valLen varint | key.
  let smallestKey: Uint8Array = new Uint8Array(0);
  if (blocks > 0) {
    let q = 8;
    const varint = () => { let x = 0, shift = 0, b = 0; do { b = bytes[q++]; x |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80 && shift < 35); return x >>> 0; };
    const kl = varint();
    varint();
    smallestKey = bytes.subarray(q, q + kl);
  }
  // Range-del block (even versions), from the bloom's end to the footer: tombstone × n
  // (seq u64 | fromLen u32 | toLen u32 | from | to) | n u32 | checksum u32.
  let largestExclusive = false, rangeTombstones = 0;
  if (version % 2 === 0) {
    const start = bloomOffset + bloomLength, end = bytes.length - 48 - 8;
    if (end < start) throw bad(start, CORRUPTION_WHAT[6]);
    rangeTombstones = v.getUint32(end, true);
    const cmp = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b);
    let r = start;
    for (let i = 0; i < rangeTombstones; i++) {
      if (r + 16 > end) throw bad(start, CORRUPTION_WHAT[6]);
      const fl = v.getUint32(r + 8, true), tl = v.getUint32(r + 12, true);
      if (r + 16 + fl + tl > end) throw bad(start, CORRUPTION_WHAT[6]);
      const from = bytes.subarray(r + 16, r + 16 + fl), to = bytes.subarray(r + 16 + fl, r + 16 + fl + tl);
      r += 16 + fl + tl;
      if ((blocks === 0 && i === 0) || cmp(from, smallestKey) < 0) smallestKey = from;
      if ((blocks === 0 && i === 0) || cmp(to, lastKey) > 0) { lastKey = to; largestExclusive = true; }
    }
  }
  // Bloom block: bit array | k u8 | checksum u32 (an empty filter is just k and the crc, or nothing).
  const bloomBits = Math.max(0, bloomLength - 5) * 8;
  const bloomProbes = bloomLength >= 5 ? bytes[bloomOffset + bloomLength - 5] : 0;
  return { bytes: bytes.length, entries, tombstones, blocks, format: version, checksum: version >= 3 ? 'XXH64' : 'CRC-32C',
    bloomBitsPerKey: entries > 0 && bloomBits > 0 ? bloomBits / entries : 0, bloomProbes: bloomBits > 0 ? bloomProbes : 0,
    smallestKey: smallestKey.slice(), largestKey: lastKey.slice(), largestExclusive, rangeTombstones };
}

/** Inspects `dir`; with `verify`, also has the engine check every run file whole. */
export async function inspectDirectory(dir: string, verify: boolean): Promise<DirectoryReport> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new StrataError('INVALID_ARGUMENT', `${dir} is not a directory`);
  const report: DirectoryReport = { dir, manifest: undefined, runs: [], logs: [], stray: [], problems: [] };
  const names = readdirSync(dir).sort();
  // Nothing a store writes: another kind of directory (a FileChangelog's, say), whose files
  // none of the checks below would look at, so it must not come out "verified".
  if (!names.some((n) => n === 'MANIFEST' || n === 'MANIFEST.tmp' || numbered(n, 'run') !== undefined || numbered(n, 'wal') !== undefined)) {
    throw new StrataError('INVALID_ARGUMENT', `${dir} holds no store: no MANIFEST, run file or log`);
  }
  try {
    report.manifest = readManifest(dir);
    if (report.manifest) checkLevels(report.manifest, join(dir, 'MANIFEST'));
  } catch (err) {
    report.problems.push((err as Error).message);
  }
  const m = report.manifest;
  if (!m && !report.problems.length) {
    try {
      const held = heldWithoutManifest(dir, names);
      if (held) report.problems.push(`${dir} has ${held} but no MANIFEST`);
    } catch (err) {
      report.problems.push((err as Error).message);
    }
  }
  const listed = new Set<number>();
  const e = m?.levels.some((ids) => ids.length > 0) ? await freshEngine() : undefined;
  for (const [level, ids] of (m?.levels ?? []).entries()) {
    for (const id of ids) {
      listed.add(id);
      const file = join(dir, fileName(id, 'run'));
      if (!existsSync(file)) { report.problems.push(`${file}: listed in the MANIFEST but missing`); continue; }
      try {
        const bytes = io('read', file, () => readFileSync(file));
        report.runs.push({ level, id, file, ...runFileInfo(e!, bytes, file) });
        if (verify) await verifyRun(bytes, file, level, id);
      } catch (err) {
        report.problems.push((err as Error).message);
      }
    }
  }
  checkLevelOrder(report);
  if (m?.logged && !names.includes(fileName(m.log, 'wal'))) {
    report.problems.push(`${join(dir, fileName(m.log, 'wal'))}: named by the MANIFEST but missing`);
  }
  for (const name of names) {
    const log = numbered(name, 'wal');
    if (log !== undefined) {
      if (m && log < m.log) { report.stray.push(name); continue; } // fully in runs: recovery deletes it
      report.logs.push(readLog(join(dir, name), report.problems));
      continue;
    }
    const run = numbered(name, 'run');
    if ((run !== undefined && !listed.has(run)) || name === 'MANIFEST.tmp') report.stray.push(name);
  }
  // Only the newest log can be cut by a crash mid-append: an older one was complete when the
  // next was started, so records are missing from the middle of the history.
  for (const l of report.logs.slice(0, -1)) {
    if (l.tornTail) report.problems.push(`${l.file}: cut short, but a newer log follows it`);
  }
  return report;
}

async function verifyRun(bytes: Uint8Array, file: string, level: number, id: number): Promise<void> {
  const e = await freshEngine(); // one per run: memory is released with it
  const p = e.reserve(bytes.length);
  e.u8.set(bytes, p);
  importRunImage(e, p, bytes.length, level, id, file);
}

/** Levels >= 1 must hold disjoint runs in ascending key order. */
function checkLevelOrder(report: DirectoryReport): void {
  const cmp = (a: Uint8Array, b: Uint8Array) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  };
  for (let i = 1; i < report.runs.length; i++) {
    const prev = report.runs[i - 1], cur = report.runs[i];
    if (cur.level === 0 || cur.level !== prev.level) continue;
    const order = cmp(prev.largestKey, cur.smallestKey); // an exclusive end may meet the next start
    if (prev.largestExclusive ? order > 0 : order >= 0) {
      report.problems.push(`level ${cur.level}: run ${prev.id} and run ${cur.id} overlap or are out of key order`);
    }
  }
}

function readLog(file: string, problems: string[]): LogInfo {
  const info: LogInfo = { file, bytes: 0, records: 0, firstSeq: 0, lastSeq: 0, tornTail: false };
  try {
    info.bytes = io('stat', file, () => statSync(file).size);
    replayWal(file, (r) => {
      info.records++;
      if (info.firstSeq === 0) info.firstSeq = r.firstSeq;
      info.lastSeq = r.type === WAL_BATCH ? r.firstSeq + r.count - 1 : Math.max(info.lastSeq, r.firstSeq);
    });
    info.tornTail = !trailingIsWhole(file, info);
  } catch (err) {
    problems.push((err as Error).message);
  }
  return info;
}

/** Whether the log's bytes all belong to whole records (replay stopped at the file's end). */
function trailingIsWhole(file: string, info: LogInfo): boolean {
  let consumed = 0;
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < info.records; i++) consumed += 12 + v.getUint32(consumed + 4, true);
  return consumed === b.length;
}
