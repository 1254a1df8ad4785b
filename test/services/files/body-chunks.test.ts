import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { bodyChunks } from "../../../src/services/files/body-chunks.js";

const KiB = 1024;

/** A body as the connections make it: chunks pushed from outside, a 1 MiB mark, read() only resumes. */
function pushedBody(): Readable {
  return new Readable({ highWaterMark: 1024 * KiB, read() {} });
}

describe("bodyChunks", () => {
  test("yields each pushed chunk as it was pushed, never joined, even when many wait in the stream", async () => {
    const body = pushedBody();
    const pushed = Array.from({ length: 12 }, (_, i) => Buffer.alloc(64 * KiB, i));
    for (const chunk of pushed) body.push(chunk); // all buffered before the loop starts: read() would join them
    body.push(null);
    const got: Buffer[] = [];
    for await (const chunk of bodyChunks(body)) got.push(chunk);
    assert.equal(got.length, pushed.length);
    got.forEach((chunk, i) => assert.equal(chunk, pushed[i], `chunk ${i} is the pushed Buffer itself`));
  });

  test("pauses the stream while the loop has 16 chunks it has not taken, and resumes it when they are taken", async () => {
    const body = pushedBody();
    const iterator = bodyChunks(body)[Symbol.asyncIterator]();
    const first = iterator.next(); // starts the loop: it listens and waits
    for (let i = 0; i < 40; i += 1) body.push(Buffer.alloc(16 * KiB, i));
    assert.equal((await first).value?.[0], 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(body.isPaused(), true, "paused with chunks queued in the loop");
    assert.ok(body.readableLength > 0, "the rest waits in the stream, where its mark applies");
    let taken = 1;
    while (taken < 40) {
      const { value } = await iterator.next();
      assert.equal(value?.[0], taken);
      taken += 1;
    }
    body.push(null);
    assert.equal((await iterator.next()).done, true);
  });

  test("an error of the stream rejects the loop with it", async () => {
    const body = pushedBody();
    body.push(Buffer.from("abc"));
    setImmediate(() => body.destroy(Object.assign(new Error("the connection closed"), { code: "E_CONNECTION_CLOSED" })));
    const got: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of bodyChunks(body)) got.push(chunk);
      })(),
      { code: "E_CONNECTION_CLOSED" },
    );
    assert.deepEqual(got, [Buffer.from("abc")]);
  });

  test("a stream destroyed before its end without an error rejects the loop (premature close)", async () => {
    const body = pushedBody();
    setImmediate(() => body.destroy());
    await assert.rejects(
      (async () => {
        for await (const _chunk of bodyChunks(body)) assert.fail("no chunk was pushed");
      })(),
      { code: "ERR_STREAM_PREMATURE_CLOSE" },
    );
  });

  test("leaving the loop early destroys the stream, as a Readable's own iterator does", async () => {
    const body = pushedBody();
    body.push(Buffer.from("first"));
    body.push(Buffer.from("second"));
    for await (const chunk of bodyChunks(body)) {
      assert.equal(chunk.toString(), "first");
      break;
    }
    assert.equal(body.destroyed, true);
    assert.equal(body.listenerCount("data"), 0);
  });

  test("an empty body ends the loop at once", async () => {
    const body = pushedBody();
    body.push(null);
    let count = 0;
    for await (const _chunk of bodyChunks(body)) count += 1;
    assert.equal(count, 0);
  });
});
