import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BodyInlet, IncomingBody, STREAMED_BODY_HIGH_WATER, type BodySink } from "../../src/wire/index.js";

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

/** A sink that keeps copies of what it is given, as a real one must (the pieces are transient). */
function copyingSink(): BodySink & { bytes(): Buffer } {
  const parts: Buffer[] = [];
  return { write: (chunk) => void parts.push(Buffer.from(chunk)), bytes: () => Buffer.concat(parts) };
}

/** Pushes `text` as a transient piece: the memory is overwritten once the push returns. */
function pushTransient(inlet: BodyInlet, text: string): void {
  const reused = Buffer.from(text);
  inlet.push(reused, true);
  reused.fill(0x21);
}

describe("IncomingBody.drainInto", () => {
  test("the sink gets what arrived before, then each piece as it comes, and the promise resolves at the end", async () => {
    const inlet = new BodyInlet(() => {});
    const body = inlet.start();
    pushTransient(inlet, "early ");
    const sink = copyingSink();
    const drained = body.drainInto(sink);
    pushTransient(inlet, "and ");
    pushTransient(inlet, "late");
    inlet.end();
    await drained;
    assert.equal(sink.bytes().toString(), "early and late");
  });

  test("a body that ended before the drain is given whole", async () => {
    const inlet = new BodyInlet(() => {});
    const body = inlet.start();
    pushTransient(inlet, "all of it");
    inlet.end();
    const sink = copyingSink();
    await body.drainInto(sink);
    assert.equal(sink.bytes().toString(), "all of it");
    const whole = copyingSink();
    await IncomingBody.of(Buffer.from("a buffered reply")).drainInto(whole);
    assert.equal(whole.bytes().toString(), "a buffered reply");
  });

  test("a promise from the sink stops the connection until it settles; the end waits for it", async () => {
    const events: boolean[] = [];
    const inlet = new BodyInlet((blocked) => events.push(blocked));
    const body = inlet.start();
    let release = (): void => {};
    const parts: string[] = [];
    const drained = body.drainInto({
      write: (chunk) => {
        parts.push(chunk.toString());
        if (parts.length === 1) return new Promise<void>((resolve) => (release = resolve));
      },
    });
    let done = false;
    void drained.then(() => (done = true));
    pushTransient(inlet, "a");
    assert.deepEqual(events, [true]);
    pushTransient(inlet, "b"); // the rest of a read in progress still comes
    inlet.end();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, "not done while the sink still writes");
    release();
    await drained;
    assert.deepEqual(parts, ["a", "b"]);
    assert.deepEqual(events, [true, false]);
  });

  test("a sink that fails ends the drain with its error; the rest is dropped without blocking", async () => {
    const events: boolean[] = [];
    const inlet = new BodyInlet((blocked) => events.push(blocked));
    const body = inlet.start();
    const drained = body.drainInto({
      write: () => {
        throw new Error("ENOSPC: no space left on device");
      },
    });
    pushTransient(inlet, "x");
    await assert.rejects(drained, /ENOSPC/);
    for (let i = 0; i < 40; i += 1) inlet.push(Buffer.alloc(CHUNK));
    inlet.end();
    assert.equal(inlet.blocked, false);
    assert.equal(events.includes(true), false);
    // A body whose last byte came before the drain fails all the same when the sink refuses a piece of it.
    const ended = new BodyInlet(() => {});
    const whole = ended.start();
    pushTransient(ended, "complete");
    ended.end();
    const refused: string[] = [];
    const refusing = whole.drainInto({
      write: (chunk) => {
        refused.push(chunk.toString());
        throw new Error("the request was cancelled");
      },
    });
    await assert.rejects(refusing, /cancelled/);
    assert.deepEqual(refused, ["complete"]);
    const rejecting = new BodyInlet(() => {}).start();
    const later = rejecting.drainInto({ write: () => Promise.reject(new Error("the write failed")) });
    rejecting.deliver(Buffer.from("y"), true);
    await assert.rejects(later, /the write failed/);
  });

  test("a connection that closes mid-body, or an abort, rejects the drain", async () => {
    const inlet = new BodyInlet(() => {});
    const drained = inlet.start().drainInto(copyingSink());
    pushTransient(inlet, "part");
    inlet.destroy(new Error("the connection closed"));
    await assert.rejects(drained, /the connection closed/);
    const controller = new AbortController();
    const other = new BodyInlet(() => {});
    const aborted = other.start().drainInto(copyingSink(), controller.signal);
    controller.abort(new Error("stopped by the user"));
    await assert.rejects(aborted, /stopped by the user/);
  });

  test("a body read as a Readable gets copies of transient pieces", async () => {
    const inlet = new BodyInlet(() => {});
    const body = inlet.start();
    pushTransient(inlet, "kept ");
    pushTransient(inlet, "intact");
    inlet.end();
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk as Buffer);
    assert.equal(Buffer.concat(parts).toString(), "kept intact");
    await assert.rejects(body.drainInto(copyingSink()), /being read already/);
  });
});

