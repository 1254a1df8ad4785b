import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChunkPool } from "../../../src/services/files/chunk-pool.js";

describe("ChunkPool: the reused buffers a file's chunks are read into", () => {
  test("hands out at most max buffers; the next take() waits for a give() and gets that buffer's memory", async () => {
    const pool = new ChunkPool(1024, 2);
    const a = await pool.take(1024);
    const b = await pool.take(10);
    assert.equal(b.length, 10);
    assert.notEqual(a.buffer, b.buffer);
    let third: Buffer | undefined;
    const waiting = pool.take(512).then((chunk) => (third = chunk));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(third, undefined, "all buffers are out: take() waits");
    pool.give(b);
    await waiting;
    assert.equal(third!.buffer, b.buffer);
    assert.equal(third!.length, 512);
  });

  test("ignores what it did not hand out, and refuses a chunk larger than its buffers", async () => {
    const pool = new ChunkPool(64, 1);
    const mine = await pool.take(64);
    pool.give(Buffer.alloc(64)); // not the pool's: must not become a second free buffer
    let next: Buffer | undefined;
    const waiting = pool.take(64).then((chunk) => (next = chunk));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(next, undefined);
    pool.give(mine);
    assert.equal((await waiting).buffer, mine.buffer);
    await assert.rejects(pool.take(65), RangeError);
  });
});
