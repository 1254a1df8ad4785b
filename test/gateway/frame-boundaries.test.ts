import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { checkOneFrame, declaredBodySize } from "../../src/gateway/frame-boundaries.js";
import { OutboundFrames } from "../../src/gateway/outbound-frames.js";
import { encodeFrame, encodeFrameParts } from "../../src/wire/index.js";

const bytes = (text: string): Buffer => Buffer.from(text, "utf8");
const headers = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });

describe("frame boundaries of WebSocket messages", () => {
  test("declaredBodySize reads what JSON.parse reads, by the fast tail or by parsing", () => {
    fc.assert(
      fc.property(headers, fc.option(fc.nat({ max: 2 ** 40 })), (header, size) => {
        const withSize = size === null ? header : { ...header, size };
        const json = JSON.stringify(withSize);
        const parsed = JSON.parse(json) as { size?: unknown };
        const expected = parsed.size === undefined ? 0 : typeof parsed.size === "number" && Number.isSafeInteger(parsed.size) && parsed.size >= 0 ? parsed.size : undefined;
        assert.equal(declaredBodySize(bytes(json)), expected, json);
        assert.equal(declaredBodySize(bytes(json), true), expected, json);
      }),
    );
    for (const [text, size] of [['{"a":{"size":5}}', 0], ['{"size":5}', 5], ['{"id":1,"size":007}', undefined], ['{"size":-1}', undefined], ["nope", undefined]] as const) {
      assert.equal(declaredBodySize(bytes(text)), size, text);
    }
  });

  test("checkOneFrame accepts exactly one whole frame and names what else a message is", () => {
    fc.assert(
      fc.property(fc.nat({ max: 300 }), fc.integer({ min: -20, max: 20 }), (size, delta) => {
        const frame = encodeFrame({ type: "ping", id: 1 }, Buffer.alloc(size));
        const message = delta <= 0 ? frame.subarray(0, Math.max(0, frame.length + delta)) : Buffer.concat([frame, Buffer.alloc(delta)]);
        const problem = checkOneFrame(message, 65_536);
        if (delta === 0) assert.equal(problem, null);
        else assert.equal(problem?.code, delta < 0 ? "E_TRUNCATED" : "E_BAD_SIZE");
      }),
    );
    // A header that is not JSON but ends like one is left to the decoder (E_BAD_HEADER, as on TCP).
    const broken = bytes('{"x":,"size":3}');
    const message = Buffer.concat([Buffer.from([0, 0, 0, broken.length]), broken]);
    assert.equal(checkOneFrame(message, 65_536), null);
  });

  test("OutboundFrames cuts any write pattern of whole frames back into one piece-run per frame", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 200_000 }), { minLength: 1, maxLength: 6 }), fc.array(fc.nat({ max: 70_000 }), { minLength: 1, maxLength: 20 }), (sizes, cuts) => {
        const frames = sizes.map((size, i) => Buffer.concat(encodeFrameParts({ id: i, ok: true }, Buffer.alloc(size, i))));
        const stream = Buffer.concat(frames);
        const outbound = new OutboundFrames();
        const messages: Buffer[] = [];
        let current: Buffer[] = [];
        let at = 0;
        let k = 0;
        while (at < stream.length) {
          const end = Math.min(stream.length, at + 1 + cuts[k++ % cuts.length]);
          for (const piece of outbound.take(stream.subarray(at, end))) {
            current.push(piece.data);
            if (piece.fin) {
              messages.push(Buffer.concat(current));
              current = [];
            }
          }
          at = end;
        }
        assert.equal(current.length, 0);
        assert.deepEqual(messages, frames);
      }),
      { numRuns: 60 },
    );
  });

  test("OutboundFrames keeps its own copy of what it holds back: a writer may reuse its buffer once take() returns", () => {
    // A streamed file body is read into a few reused buffers, each refilled once its write's callback ran, and for
    // bytes held back (under the fragment size) ws-frame-socket runs that callback at once.
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 150_000 }), { minLength: 1, maxLength: 4 }), fc.array(fc.nat({ max: 70_000 }), { minLength: 1, maxLength: 20 }), (sizes, cuts) => {
        const frames = sizes.map((size, i) => Buffer.concat(encodeFrameParts({ id: i, ok: true }, Buffer.alloc(size, i + 1))));
        const stream = Buffer.concat(frames);
        const outbound = new OutboundFrames();
        const reused = Buffer.alloc(70_001);
        const messages: Buffer[] = [];
        let current: Buffer[] = [];
        let k = 0;
        for (let at = 0; at < stream.length; ) {
          const end = Math.min(stream.length, at + 1 + cuts[k++ % cuts.length]);
          const chunk = reused.subarray(0, end - at);
          stream.copy(chunk, 0, at, end);
          for (const piece of outbound.take(chunk)) {
            current.push(Buffer.from(piece.data)); // sent: ws has the bytes before the callback runs
            if (piece.fin) {
              messages.push(Buffer.concat(current));
              current = [];
            }
          }
          reused.fill(0xee); // the write's callback ran: the buffer is read into again
          at = end;
        }
        assert.deepEqual(messages, frames);
      }),
      { numRuns: 60 },
    );
  });
});
