import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ChunkPool } from "../../../src/services/files/chunk-pool.js";
import { READ_CHUNK, readChunks } from "../../../src/services/files/hashing-io.js";
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
});
