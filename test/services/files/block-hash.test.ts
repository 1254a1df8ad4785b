import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { xxhash128 } from "hash-wasm";
import { blockHasherWithBuffer, createBlockHasher, XXH128_SCRATCH } from "../../../src/services/files/block-hash.js";
import { wasmChunkerAvailable, wasmMemoryOf } from "../../../src/services/files/chunker-wasm.js";
import { hashBytes } from "../../../src/services/files/hash.js";

const wasmSkip = wasmChunkerAvailable() ? false : "no WebAssembly";

describe("block hashes of delta puts (issue 15)", () => {
  test("xxh128 in WebAssembly is XXH3-128 (as hash-wasm computes it) for any length, at any offset (property)", { skip: wasmSkip }, async () => {
    const { hasher, buffer } = await blockHasherWithBuffer("xxh128", 300 * 1024);
    assert.equal(hasher.kind, "wasm");
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 200 * 1024 }), fc.integer({ min: 0, max: 100 * 1024 }), fc.integer(), async (length, offset, seed) => {
        // Lengths near XXH3's seams (240, the 1 KiB block, the 64-byte stripe) are the ones that break.
        const bytes = buffer.subarray(offset, offset + length);
        for (let i = 0; i < bytes.length; i += 1) bytes[i] = (Math.imul(i + seed, 0x9e3779b1) >>> 13) & 0xff;
        assert.equal(hasher.digest(bytes).toString("hex"), await xxhash128(bytes), `${length} bytes at ${offset}`);
      }),
      { numRuns: 300, examples: [[241, 0, 1], [1024, 3, 2], [1025, 0, 3], [1088, 1, 4], [65536, 0, 5], [64 * 1024 - 1, 7, 6], [240, 0, 7], [0, 0, 8]] },
    );
  });

  test("known values, and data outside the hasher's memory hashed alike", async () => {
    const portable = await createBlockHasher("xxh128");
    assert.equal(portable.kind, "portable");
    assert.equal(portable.digest(Buffer.alloc(0)).toString("hex"), "99aa06d3014798d86001c324468d497f", "XXH3-128 of nothing (xxhsum -H2)");
    const ones = Buffer.alloc(1000, 1);
    assert.equal(portable.digest(ones).toString("hex"), "078b6363765c1eb110dee1ec8ce9fb6c");
    const { hasher, buffer } = await blockHasherWithBuffer("xxh128", 4096);
    ones.copy(buffer);
    assert.equal(hasher.digest(buffer.subarray(0, 1000)).toString("hex"), "078b6363765c1eb110dee1ec8ce9fb6c", "in place");
    assert.equal(hasher.digest(ones).toString("hex"), "078b6363765c1eb110dee1ec8ce9fb6c", "a buffer of its own");
    const digest = hasher.digest(buffer.subarray(0, 1000));
    hasher.digest(buffer.subarray(1, 999));
    assert.equal(digest.toString("hex"), "078b6363765c1eb110dee1ec8ce9fb6c", "a digest is the caller's: the next hash does not change it");
  });

  test("over another module's memory the hasher keeps to its scratch bytes", { skip: wasmSkip }, async () => {
    const memory = wasmMemoryOf(64 * 1024);
    const view = new Uint8Array(memory.buffer);
    view.fill(7);
    const hasher = await createBlockHasher("xxh128", { memory, scratch: 1024 });
    assert.equal(hasher.kind, "wasm");
    const data = Buffer.from(memory.buffer, 4096, 5000);
    assert.equal(hasher.digest(data).toString("hex"), await xxhash128(data));
    assert.ok(view.subarray(0, 1024).every((byte) => byte === 7), "below its scratch: untouched");
    assert.ok(view.subarray(1024 + XXH128_SCRATCH).every((byte) => byte === 7), "above it: untouched");
  });

  test("blake3 and sha256 block hashes are the transfer's own", async () => {
    const data = Buffer.from("a block of a file");
    for (const name of ["blake3", "sha256"] as const) {
      const hasher = await createBlockHasher(name);
      assert.equal(hasher.bytes, 32);
      assert.deepEqual(hasher.digest(data), hashBytes(name, data));
    }
  });
});
