// The manifest's text (docs/FORMAT.md, "Manifest"), shared by the Node MANIFEST (manifest.ts)
// and the OPFS manifest slots (persistence-opfs.ts): a header line with the CRC-32C of the
// JSON line, then the JSON. No file system here: callers hand in and take out text.
import { StrataError } from '../errors.js';
import { crc32c } from '../crc32c.js';

export interface Manifest {
  /** Every write with a sequence <= flushedSeq is in the run files. */
  flushedSeq: number;
  /** The next run file number the engine will use. */
  nextRun: number;
  /** The log file writes go to (OPFS: the WAL slot, 0 or 1, informational). */
  log: number;
  /** Run file numbers per level; level 0 newest first, deeper levels in key order. */
  levels: number[][];
  /** The last checkpoint: its sequence is the changelog position the state holds up to. */
  checkpoint?: CheckpointMark;
  /** Present (true) when the store has a ttl: every value starts with an f64 expiresAt. */
  ttl?: boolean;
  /** Present (true) when the store keeps a write-ahead log (Node): the log `log` then exists
   *  (created before any manifest names it), so a missing one is damage, not an empty log. */
  logged?: boolean;
  /** OPFS only: the manifest's generation, one more than the last one written; of the two
   *  slots, the valid one with the higher generation is the manifest. */
  generation?: number;
}

/** What a checkpoint records: the store's state is durable through `seq`, and so is every
 *  changelog sink (Store.checkpoint). */
export interface CheckpointMark { seq: number; time: number }

const HEADER = 'strata-manifest 1';

/** The manifest's text: header line, JSON line. */
export function encodeManifest(m: Manifest): string {
  const json = JSON.stringify(m);
  return `${HEADER} ${crc32c(new TextEncoder().encode(json)).toString(16).padStart(8, '0')}\n${json}\n`;
}

/** Parses and checks a manifest's text; anything else is CORRUPTION naming `file` and the offset. */
export function decodeManifest(text: string, file: string): Manifest {
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  const json = nl < 0 ? '' : text.slice(nl + 1).replace(/\n$/, '');
  const bad = (why: string, offset: number) => new StrataError('CORRUPTION', `${file} at offset ${offset}: ${why}`);
  const m = /^strata-manifest 1 ([0-9a-f]{8})$/.exec(header);
  if (!m) throw bad('not a strata manifest header', 0);
  if (crc32c(new TextEncoder().encode(json)) !== parseInt(m[1], 16)) throw bad('checksum mismatch', nl + 1);
  let parsed: Manifest;
  try { parsed = JSON.parse(json); } catch { throw bad('unreadable JSON', nl + 1); }
  const nat = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!parsed || !nat(parsed.flushedSeq) || !nat(parsed.nextRun) || !nat(parsed.log) || !Array.isArray(parsed.levels)
      || !parsed.levels.every((l) => Array.isArray(l) && l.every(nat))
      || (parsed.checkpoint !== undefined && (!nat(parsed.checkpoint?.seq) || typeof parsed.checkpoint?.time !== 'number'))
      || (parsed.ttl !== undefined && parsed.ttl !== true)
      || (parsed.logged !== undefined && parsed.logged !== true)
      || (parsed.generation !== undefined && !nat(parsed.generation))) {
    throw bad('fields missing or of the wrong type', nl + 1);
  }
  // What the checksum cannot vouch for (a bad writer computed it): each run listed once, by a
  // number the engine can hold (u32), or recovery would import one file twice, or another
  // file than the one listed. (The number of levels is the engine's: checkLevels.)
  const seen = new Set<number>();
  for (const id of parsed.levels.flat()) {
    if (id > 0xffffffff) throw bad(`run number ${id} out of range`, nl + 1);
    if (seen.has(id)) throw bad(`run ${id} listed twice`, nl + 1);
    seen.add(id);
  }
  return parsed;
}
