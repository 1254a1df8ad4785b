/**
 * Micro-benchmark of the delta chunker (issue 15): GiB/s of the cut rule alone (WebAssembly and JavaScript, the
 * same random data in memory), and of a whole chunking pass over a file on tmpfs (read, cut, hash each chunk,
 * and the whole-file hash as a sender does). CPU seconds, not wall-clock, so a loaded machine does not decide.
 * `node dist/bench/chunker.bench.js [MiB]` (default 256); takes a few seconds.
 */
import { randomFillSync } from "node:crypto";
import { open, rm, writeFile, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { chunkFile, createScanner, MAX_CHUNK, READ_BLOCK, type ChunkerKind } from "../src/services/files/chunker.js";
import { createContentHash } from "../src/services/files/hash.js";

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 256) * MiB;

function cpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function cutRate(kind: ChunkerKind, data: Buffer): { rate: number; cuts: number } {
  const scanner = createScanner(READ_BLOCK + MAX_CHUNK, kind);
  let cuts = 0;
  const started = cpu();
  for (let off = 0; off < data.length; off += READ_BLOCK) {
    const n = Math.min(READ_BLOCK, data.length - off);
    data.copy(scanner.buffer, 0, off, off + n);
    for (let at = 0; at < n; cuts += 1) at = scanner.cut(at, n);
  }
  return { rate: data.length / 2 ** 30 / (cpu() - started), cuts };
}

const data = randomFillSync(Buffer.allocUnsafe(size));
const rates: Record<string, number> = {};
for (let round = 0; round < 2; round += 1) {
  for (const kind of ["wasm", "js"] as const) {
    const { rate, cuts } = cutRate(kind, data);
    rates[kind] = rate;
    if (round === 1) console.log(`cut rule ${kind.padEnd(4)} ${rate.toFixed(2)} GiB/s (cpu), ${cuts} chunks in ${size / MiB} MiB`);
  }
}
// No target of its own in issue 15 (the delta put's time against rsync's is the target, in transfers.bench.ts).
console.log(`cut rule wasm / js: ${(rates.wasm / rates.js).toFixed(2)}x (no target; reported)`);
const dir = await mkdtemp(join("/dev/shm", "wharf-chunker-bench-"));
try {
  const path = join(dir, "f");
  await writeFile(path, data);
  for (let round = 0; round < 2; round += 1) {
    for (const kind of ["wasm", "js"] as const) {
      for (const withWhole of [false, true]) {
        const file = await open(path);
        const started = cpu();
        const whole = withWhole ? createContentHash("blake3") : undefined;
        const chunks = await chunkFile(file, 0, size, "blake3", whole, kind);
        whole?.digest();
        const seconds = cpu() - started;
        await file.close();
        if (round === 1) console.log(`chunkFile ${kind.padEnd(4)} ${withWhole ? "+ whole hash" : "            "} ${(size / 2 ** 30 / seconds).toFixed(2)} GiB/s (cpu), ${chunks.length} chunks`);
      }
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
