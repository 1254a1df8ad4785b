import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BodyInlet, STREAMED_BODY_HIGH_WATER } from "../../src/wire/index.js";

const CHUNK = 64 * 1024;

describe("BodyInlet", () => {
  test("blocks once its reader is a mark behind and unblocks when the reader catches up", async () => {
    const events: boolean[] = [];
    const inlet = new BodyInlet((blocked) => events.push(blocked));
    const body = inlet.start();
    for (let i = 0; i * CHUNK < STREAMED_BODY_HIGH_WATER; i += 1) inlet.push(Buffer.alloc(CHUNK));
    assert.equal(inlet.blocked, true);
    inlet.push(Buffer.alloc(CHUNK));
    assert.deepEqual(events, [true], "told once, however many chunks follow");
    let read = 0;
    body.on("data", (chunk: Buffer) => (read += chunk.length));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(inlet.blocked, false);
    assert.deepEqual(events, [true, false]);
    inlet.end();
    await new Promise((resolve) => body.once("end", resolve));
    assert.equal(read, STREAMED_BODY_HIGH_WATER + CHUNK);
    assert.equal(inlet.receiving, false);
  });

  test("the end of a body lifts a block its reader never read past", () => {
    const events: boolean[] = [];
    const inlet = new BodyInlet((blocked) => events.push(blocked));
    inlet.start();
    inlet.push(Buffer.alloc(STREAMED_BODY_HIGH_WATER));
    assert.equal(inlet.blocked, true);
    inlet.end();
    assert.deepEqual(events, [true, false]);
  });

  test("a body its reader destroyed drops what follows and never blocks the connection", () => {
    const events: boolean[] = [];
    const inlet = new BodyInlet((blocked) => events.push(blocked));
    inlet.start().destroy();
    for (let i = 0; i < 40; i += 1) inlet.push(Buffer.alloc(CHUNK));
    assert.deepEqual(events, []);
    assert.equal(inlet.blocked, false);
  });

  test("destroy hands the reader the reason", async () => {
    const inlet = new BodyInlet(() => {});
    const body = inlet.start();
    const failed = new Promise<Error>((resolve) => body.once("error", resolve));
    inlet.destroy(new Error("the connection closed"));
    assert.equal((await failed).message, "the connection closed");
    assert.equal(inlet.receiving, false);
  });
});
