import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BufferShelf } from "../../../src/services/files/buffer-shelf.js";

describe("BufferShelf: the reused buffers a tree's small files are read into", () => {
  test("a buffer given back is handed out again for any length of its size, and a fresh one otherwise", () => {
    const shelf = new BufferShelf(1024 * 1024);
    const a = shelf.take(5000);
    assert.equal(a.length, 5000);
    assert.equal(a.buffer.byteLength, 8192, "the power of two at or above the length");
    shelf.give(a);
    assert.equal(shelf.freeBytes, 8192);
    const b = shelf.take(8192);
    assert.equal(b.buffer, a.buffer, "the same memory, no new pages");
    assert.equal(b.length, 8192);
    assert.equal(shelf.freeBytes, 0);
    const c = shelf.take(100);
    assert.notEqual(c.buffer, a.buffer, "taken: not handed out twice");
    assert.equal(c.buffer.byteLength, 4096, "at least 4 KiB");
  });

  test("a buffer given twice goes on the shelf once; foreign buffers and those past the bound are left alone", () => {
    const shelf = new BufferShelf(16 * 1024);
    const a = shelf.take(4096);
    shelf.give(a);
    shelf.give(a);
    assert.equal(shelf.freeBytes, 4096);
    const first = shelf.take(10);
    const second = shelf.take(10);
    assert.equal(first.buffer, a.buffer);
    assert.notEqual(second.buffer, a.buffer, "given twice, handed out once");
    shelf.give(Buffer.alloc(4096));
    assert.equal(shelf.freeBytes, 0, "not the shelf's");
    const big = [shelf.take(8192), shelf.take(8192), shelf.take(8192)];
    for (const bytes of big) shelf.give(bytes);
    assert.equal(shelf.freeBytes, 16 * 1024, "at most the bound waits");
  });

  test("sizeFor: powers of two from 4 KiB", () => {
    assert.deepEqual([0, 1, 4096, 4097, 65_536, 65_537, 256 * 1024].map(BufferShelf.sizeFor), [4096, 4096, 4096, 8192, 65_536, 131_072, 262_144]);
  });
});
