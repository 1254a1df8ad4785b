import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { truncateSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ChunkPool } from "../../../src/services/files/chunk-pool.js";
import { BLOCKING_READ_CHUNK, READ_CHUNK, readChunks, readStep } from "../../../src/services/files/hashing-io.js";
import { tempDir } from "../../helpers/cli.js";

describe("readChunks", () => {
  test("a read ahead that fails while its consumer holds the generator (the file closed by an abort) is no unhandled rejection, and the next pull still fails", async (t) => {
    const path = join(tempDir(t), "f");
    writeFileSync(path, Buffer.alloc(3 * READ_CHUNK, 7));
    const file = await open(path, "r");
    const pool = new ChunkPool(READ_CHUNK, 1); // one buffer: the read ahead waits until the first chunk is given back
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    t.after(() => process.off("unhandledRejection", onUnhandled));
    const chunks = readChunks(file, 0, 3 * READ_CHUNK, undefined, pool);
    const first = await chunks.next();
    assert.equal((first.value as Buffer).length, READ_CHUNK);
    await file.close(); // as an aborted put closes its file while the request body still holds the generator
    pool.give(first.value as Buffer); // the read ahead goes on, onto the closed file
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(unhandled, [], "no rejection went unobserved");
    await assert.rejects(chunks.next(), (err: NodeJS.ErrnoException) => err.code === "EBADF");
  });

  test("blocking reads give the same bytes as pooled reads, in their own steps, and fail the same way on a file that shrank", async (t) => {
    const path = join(tempDir(t), "g");
    const content = randomBytes(2 * BLOCKING_READ_CHUNK + 12345);
    writeFileSync(path, content);
    const file = await open(path, "r");
    t.after(() => file.close());
    const read = async (blocking: boolean, start: number, end: number): Promise<Buffer> => {
      const step = readStep({ blocking });
      const pool = new ChunkPool(step, 2);
      const parts: Buffer[] = [];
      for await (const chunk of readChunks(file, start, end, undefined, pool, { blocking })) {
        parts.push(Buffer.from(chunk)); // kept as a copy: the pool's buffer is read into again
        pool.give(chunk);
      }
      // Every chunk but the last is a whole step.
      assert.deepEqual(parts.slice(0, -1).map((part) => part.length), new Array(Math.max(0, parts.length - 1)).fill(step));
      return Buffer.concat(parts);
    };
    for (const [start, end] of [[0, content.length], [777, content.length - 5], [READ_CHUNK, READ_CHUNK + 1], [BLOCKING_READ_CHUNK - 1, BLOCKING_READ_CHUNK + 1], [10, 10]]) {
      assert.deepEqual(await read(true, start, end), content.subarray(start, end), `blocking ${start}-${end}`);
      assert.deepEqual(await read(false, start, end), content.subarray(start, end), `pooled ${start}-${end}`);
    }
    truncateSync(path, READ_CHUNK + 100);
    await assert.rejects(read(true, 0, content.length), /the file changed while it was read: it ended at 1048676, before/);
    await assert.rejects(read(false, 0, content.length), /the file changed while it was read: it ended at 1048676, before/);
    const aborted = new AbortController();
    aborted.abort(new Error("stopped"));
    await assert.rejects(readChunks(file, 0, 10, aborted.signal, undefined, { blocking: true }).next(), /stopped/);
  });
});
