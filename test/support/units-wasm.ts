// Loads build/units.wasm, the unit-test entry (assembly/testing/units.ts), and gives its
// drivers typed calls over byte strings. The one file outside bindings/engine/ that loads a
// Wasm module (test/architecture.test.ts allows it by name): it is a test build with its
// own exports, not the engine's ABI, which only bindings/engine/abi.ts touches.
// A fresh instance per testdata file: state carries from case to case within a file, as in
// cockroachdb/datadriven, and never across files.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const UNITS_WASM = fileURLToPath(new URL('../../build/units.wasm', import.meta.url));

export const KIND_DELETE = 0;
export const KIND_PUT = 1;

/** An internal entry: a user key, its sequence and kind, and (for a put) its value. */
export interface Entry { key: Uint8Array; seq: number; kind: number; value: Uint8Array }

/** Unsigned bytewise order of two keys (a proper prefix first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Internal-key order: user key ascending, then sequence descending (the newest version of a
 *  key first). What the block and run builders REQUIRE of their input, and the tests' model. */
export const internalOrder = (a: Entry, b: Entry): number => compareBytes(a.key, b.key) || b.seq - a.seq;

/** What a driver left in its OUT record (assembly/testing/units.ts, the file comment). */
export interface Out { valid: boolean; key: Uint8Array; value: Uint8Array; seq: number; kind: number; index: number }

type Ptr = number;
interface Exports {
  memory: WebAssembly.Memory;
  out_ptr(): Ptr;
  arg(len: number): Ptr;
  block_add(kp: Ptr, kl: number, seq: number, kind: number, vp: Ptr, vl: number): number;
  block_finish(): number;
  block_count(): number;
  block_restart(i: number): number;
  block_seek_ge(kp: Ptr, kl: number, seq: number): number;
  block_get(kp: Ptr, kl: number, seq: number): number;
  block_buckets(): number;
  block_at(i: number): void;
  xxhash64(p: Ptr, len: number, seed: bigint): bigint;
  grown_capacity(cap: number, need: number, min: number): number;
  checksum_crc32c(p: Ptr, len: number): number;
  bloom_reset(): void;
  bloom_add(kp: Ptr, kl: number): void;
  bloom_build(bitsPerKey: number): number;
  bloom_k(): number;
  bloom_probe(kp: Ptr, kl: number): number;
  it_first(): void;
  it_last(): void;
  it_seek_ge(kp: Ptr, kl: number, seq: number): void;
  it_seek_lt(kp: Ptr, kl: number, seq: number): void;
  it_next(): void;
  it_prev(): void;
  mem_new(hashIndex: number): number;
  mem_add(kp: Ptr, kl: number, seq: number, kind: number, vp: Ptr, vl: number): number;
  mem_get(kp: Ptr, kl: number, seq: number): void;
  mem_iter(): void;
  src_reset(): void;
  src_mem(): void;
  src_run(blockBytes: number): void;
  src_add(kp: Ptr, kl: number, seq: number, kind: number, vp: Ptr, vl: number): number;
  src_end(): number;
  src_rangedel(fp: Ptr, fl: number, tp: Ptr, tl: number, seq: number): number;
  merge_runs(snap: number, level: number, hasDeeper: number, dlp: Ptr, dll: number, dhp: Ptr, dhl: number, cutBytes: number): number;
  merged_iter(i: number): void;
  merged_rd_count(i: number): number;
  merged_rd(i: number, j: number): void;
  merge_iter(forward: number, tree: number): void;
  db_open(seq: number, forward: number, lp: Ptr, ll: number, hasLower: number, up: Ptr, ul: number, hasUpper: number): void;
  db_step(): void;
  shape_reset(level0Trigger: number, levelBaseBytes: number, levelMultiplier: number): void;
  shape_add(level: number, sp: Ptr, sl: number, lp: Ptr, ll: number, bytes: number): number;
  shape_install(): void;
  max_levels(): number;
  level_score(level: number): number;
  pick_level(): number;
  pick_inputs(level: number): number;
  pick_count(): number;
  pick_input(i: number): number;
}

let compiled: WebAssembly.Module | undefined;

/** The drivers of one fresh instance. */
export class Units {
  readonly x: Exports;

  constructor() {
    compiled ??= new WebAssembly.Module(readFileSync(UNITS_WASM));
    // A run with no file is never read through the host, nor reported freed by number; the
    // units write no merge operands, so compactions have no chain to fold (-1: keep it).
    const env = {
      read_block: () => { throw new Error('units: read_block on a resident run'); }, run_freed: () => {},
      merge_fold: () => -1, merge_take: () => {},
    };
    this.x = new WebAssembly.Instance(compiled, { env }).exports as unknown as Exports;
  }

  private get bytes(): Uint8Array { return new Uint8Array(this.x.memory.buffer); }

  /** Copies byte strings into the scratch region; their pointers, in order. */
  args(...parts: Uint8Array[]): Ptr[] {
    const total = parts.reduce((n, p) => n + p.length, 0);
    let at = this.x.arg(total);
    const bytes = this.bytes;
    return parts.map((p) => { bytes.set(p, at); const ptr = at; at += p.length; return ptr; });
  }

  /** Calls `f` with an entry's key and value in the scratch region. */
  withEntry(e: Entry, f: (kp: Ptr, kl: number, seq: number, kind: number, vp: Ptr, vl: number) => number): number {
    const [kp, vp] = this.args(e.key, e.value);
    return f(kp, e.key.length, e.seq, e.kind, vp, e.value.length);
  }

  /** Calls `f` with a key in the scratch region. */
  withKey<T>(key: Uint8Array, f: (kp: Ptr, kl: number) => T): T {
    const [kp] = this.args(key);
    return f(kp, key.length);
  }

  /** The OUT record, its key and value copied out. */
  out(): Out {
    const view = new DataView(this.x.memory.buffer);
    const o = this.x.out_ptr();
    const valid = view.getUint32(o, true) === 1;
    const copy = (p: number, n: number) => this.bytes.slice(p, p + n);
    return {
      valid,
      key: valid ? copy(view.getUint32(o + 4, true), view.getUint32(o + 8, true)) : new Uint8Array(),
      value: valid ? copy(view.getUint32(o + 12, true), view.getUint32(o + 16, true)) : new Uint8Array(),
      index: view.getUint32(o + 20, true),
      seq: view.getFloat64(o + 24, true),
      kind: view.getUint32(o + 32, true),
    };
  }
}
