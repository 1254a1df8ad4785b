import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createBlockHasher } from "../../../src/services/files/block-hash.js";
import { BlockRecorder } from "../../../src/services/files/block-recorder.js";
import { blockListOf } from "../../../src/services/files/delta-blocks.js";
import { HashingFileSink } from "../../../src/services/files/file-sink.js";
import { createContentHash } from "../../../src/services/files/hash.js";
import { tempDir } from "../../helpers/cli.js";
import { blake3Of } from "./helpers.js";

describe("HashingFileSink", () => {
  test("lands transient pieces of any sizes at their places, hashed, however its buffers fill (property)", async (t) => {
    const dir = tempDir(t);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 40_000 }),
        fc.array(fc.integer({ min: 1, max: 9_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 16, max: 8_192 }),
        fc.nat({ max: 3 }),
        fc.boolean(),
        fc.boolean(),
        async (data, sizes, piecesPerRead, batch, prefix, recording, blocking) => {
          const path = join(dir, `f${(run += 1)}`);
          writeFileSync(path, Buffer.alloc(prefix, 0x70)); // a kept prefix, as a resumed get has
          const file = await open(path, "r+");
          const hash = createContentHash("blake3");
          let counted = 0;
          // With a recorder (from the file's start), the buffers are lent from its memory and it lists every batch.
          const recorder = recording && prefix === 0 ? await BlockRecorder.create(data.length, 1024) : null;
          const sink = new HashingFileSink(file, prefix, hash, { onBytes: (bytes) => (counted += bytes), batch, recorder: recorder ?? undefined, blocking });
          // Pieces come in reads of a few; a returned promise is awaited only after the read's last piece, as the
          // connection does, and each piece's memory is overwritten once it was given.
          const reused = Buffer.alloc(9_000);
          let at = 0;
          for (let k = 0; at < data.length; k += 1) {
            const waits: Promise<void>[] = [];
            for (let p = 0; p < piecesPerRead && at < data.length; p += 1) {
              const length = Math.min(sizes[(k + p) % sizes.length], data.length - at);
              const piece = reused.subarray(0, length);
              piece.set(data.subarray(at, at + length));
              const wait = sink.write(piece);
              if (wait !== undefined) waits.push(wait);
              piece.fill(0xee);
              at += length;
            }
            await Promise.all(waits);
          }
          await sink.finish();
          await file.close();
          assert.deepEqual(new Uint8Array(readFileSync(path)), new Uint8Array(Buffer.concat([Buffer.alloc(prefix, 0x70), data])));
          assert.equal(`blake3:${hash.digest()}`, blake3Of(data));
          assert.equal(counted, data.length);
          assert.equal(sink.received, data.length);
          if (recorder !== null) assert.deepEqual(recorder.finish(), blockListOf(data, await createBlockHasher("xxh128"), 1024));
          recorder?.release();
        },
      ),
      { numRuns: 150 },
    );
  });

  test("a write that fails fails the next piece and finish, with the file system's error", async (t) => {
    const path = join(tempDir(t), "read-only");
    writeFileSync(path, "");
    const file = await open(path, "r");
    t.after(() => file.close());
    const sink = new HashingFileSink(file, 0, createContentHash("blake3"), { batch: 64 });
    sink.write(Buffer.alloc(64)); // fills a buffer: its write starts, and fails
    await assert.rejects(sink.finish(), { code: "EBADF" });
    assert.throws(() => sink.write(Buffer.alloc(1)), { code: "EBADF" });
    const blocking = new HashingFileSink(file, 0, createContentHash("blake3"), { batch: 64, blocking: true });
    blocking.write(Buffer.alloc(64)); // written, and failed, before the call returns
    assert.throws(() => blocking.write(Buffer.alloc(1)), { code: "EBADF" });
    await assert.rejects(blocking.finish(), { code: "EBADF" });
  });
});
