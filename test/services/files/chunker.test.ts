import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import fc from "fast-check";
import { chunkBuffer, chunkFile, cutPoints, MAX_CHUNK, MIN_CHUNK } from "../../../src/services/files/chunker.js";
import { wasmChunkerAvailable, wasmScanner } from "../../../src/services/files/chunker-wasm.js";
import { tempDir } from "../../helpers/cli.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Random bytes with runs of one value and repeated stretches, where a cut rule's edge cases live. */
const lumpyBytes = fc
  .array(
    fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 70 * KiB }),
      fc.record({ byte: fc.nat(255), length: fc.integer({ min: 1, max: 300 * KiB }) }).map(({ byte, length }) => new Uint8Array(length).fill(byte)),
    ),
    { maxLength: 12 },
  )
  .map((parts) => Buffer.concat(parts));

describe("the delta chunker (issue 15)", () => {
  test("the WebAssembly chunker loads from the build", () => {
    assert.ok(wasmChunkerAvailable(), "dist/src/services/files/wasm/chunker.wasm is built by npm run build");
    assert.equal(wasmScanner(1024)?.kind, "wasm");
  });

  test("the WebAssembly and JavaScript chunkers cut random data at the same places (property)", () => {
    fc.assert(
      fc.property(lumpyBytes, (data) => {
        assert.deepEqual(cutPoints(data, "wasm"), cutPoints(data, "js"));
      }),
      { numRuns: 150 },
    );
    const big = randomBytes(16 * MiB);
    const ends = cutPoints(big, "wasm");
    assert.deepEqual(ends, cutPoints(big, "js"));
    ends.slice(0, -1).forEach((end, i) => {
      const length = end - (i === 0 ? 0 : ends[i - 1]);
      assert.ok(length >= MIN_CHUNK && length <= MAX_CHUNK, `chunk ${i}: ${length} bytes`);
    });
  });

  test("a chunking pass over a file gives the chunks of the whole buffer, for both chunkers and every start", async (t) => {
    const dir = tempDir(t);
    const data = Buffer.concat([randomBytes(9 * MiB + 123), Buffer.alloc(600 * KiB, 7), randomBytes(333 * KiB)]);
    writeFileSync(join(dir, "f"), data);
    const file = await open(join(dir, "f"));
    t.after(() => file.close());
    for (const start of [0, 5 * MiB + 17]) {
      const expected = chunkBuffer(data.subarray(start), "blake3", "js").map((c) => ({ ...c, offset: c.offset + start }));
      for (const kind of ["wasm", "js"] as const) assert.deepEqual(await chunkFile(file, start, data.length, "blake3", undefined, kind), expected, `${kind} from ${start}`);
    }
  });

  test("where the .wasm is missing, the JavaScript chunker takes over with one log line", (t) => {
    const dir = tempDir(t);
    const built = fileURLToPath(new URL("../../../src/services/files/", import.meta.url));
    for (const name of ["chunker-wasm.js", "chunker-gear.js"]) copyFileSync(join(built, name), join(dir, name));
    writeFileSync(join(dir, "package.json"), '{"type":"module"}');
    const script = `import { wasmScanner } from ${JSON.stringify(join(dir, "chunker-wasm.js"))}; console.log(String(wasmScanner(64) === null && wasmScanner(64) === null));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), "true");
    const lines = child.stderr.trim().split("\n");
    assert.equal(lines.length, 1, child.stderr);
    assert.match(lines[0], /WebAssembly chunker is not available .*chunking in JavaScript/);
  });
});
