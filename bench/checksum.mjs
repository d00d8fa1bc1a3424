// The block checksums alone, in Wasm: CRC-32C (run file format versions 1 and 2) against
// XXH64 (versions 3 and 4; docs/FORMAT.md), over one 4 KiB block (the default blockBytes)
// and other sizes. Compiles bench/checksum/entry.ts with the engine's release options
// (bench/checksum/asconfig.json copies asconfig.json's release target), then times each checksum over the same bytes; prints MB/s
// and ns per block, the median of --rounds rounds of about 100 ms each. Asserts nothing.
//   node bench/checksum.mjs [--rounds 7]
import asc from 'assemblyscript/asc';
import { fileURLToPath } from 'node:url';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.mjs';
import { median } from './lib/dist.mjs';

const o = parseArgs(process.argv.slice(2), { rounds: { type: 'int', default: 7, min: 1 } }, { usage: 'node bench/checksum.mjs [--rounds R]' });
const out = mkdtempSync(join(tmpdir(), 'strata-checksum-'));
const wasmFile = join(out, 'checksum.wasm');
const { error, stderr } = await asc.main([
  fileURLToPath(new URL('./checksum/entry.ts', import.meta.url)),
  '--config', fileURLToPath(new URL('./checksum/asconfig.json', import.meta.url)), '--target', 'release', '--outFile', wasmFile,
], { stderr: process.stderr });
if (error) throw new Error(`asc: ${error.message}\n${stderr}`);
const { instance: { exports: x } } = await WebAssembly.instantiate(readFileSync(wasmFile));
rmSync(out, { recursive: true, force: true });

for (const size of [4096, 1024, 65536]) {
  const p = x.buffer(size);
  const bytes = new Uint8Array(x.memory.buffer, p, size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
  const rows = {};
  for (const name of ['crc', 'xxh']) {
    const reps = Math.max(1, Math.round((100 << 20) / size / 10)); // ~10 MB a round
    x[name](p, size, reps); // warm up
    const nsPerBlock = [];
    for (let r = 0; r < o.rounds; r++) {
      const t = process.hrtime.bigint();
      x[name](p, size, reps);
      nsPerBlock.push(Number(process.hrtime.bigint() - t) / reps);
    }
    rows[name] = median(nsPerBlock);
  }
  const line = (label, ns) => `${label} ${(size / ns * 1e3).toFixed(0).padStart(6)} MB/s  ${ns.toFixed(0).padStart(6)} ns/block`;
  console.log(`${String(size).padStart(6)} B: ${line('CRC-32C', rows.crc)}   ${line('XXH64', rows.xxh)}   (${(rows.crc / rows.xxh).toFixed(2)}×)`);
}
console.log(`(median of ${o.rounds} rounds)`);
