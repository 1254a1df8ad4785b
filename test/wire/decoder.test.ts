import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { FrameDecoder, ProtocolError, encodeFrame, type FrameHeader } from "../../src/wire/index.js";

interface Collected {
  frames: { header: FrameHeader; body: Buffer }[];
  decoder: FrameDecoder;
}

function collector(options?: ConstructorParameters<typeof FrameDecoder>[1]): Collected {
  const frames: Collected["frames"] = [];
  const decoder = new FrameDecoder({ onFrame: (header, body) => frames.push({ header, body: Buffer.from(body) }) }, options);
  return { frames, decoder };
}

function expectProtocolError(fn: () => void, code: string): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolError, `expected a ProtocolError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

function frameOf(headerLength: number, headerText: string): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(headerLength);
  return Buffer.concat([head, Buffer.from(headerText)]);
}

describe("FrameDecoder", () => {
  test("decodes the hex fixture of a ping frame", () => {
    const hex = "0000001f7b2274797065223a2270696e67222c226964223a312c2273697a65223a327d6869";
    const { frames, decoder } = collector();
    decoder.push(Buffer.from(hex, "hex"));
    assert.deepEqual(frames, [{ header: { type: "ping", id: 1, size: 2 }, body: Buffer.from("hi") }]);
    assert.equal(encodeFrame({ type: "ping", id: 1 }, Buffer.from("hi")).toString("hex"), hex);
  });

  test("decodes a frame fed one byte at a time", () => {
    const bytes = encodeFrame({ type: "echo", id: 3, note: "ü€" }, Buffer.from("body bytes"));
    const { frames, decoder } = collector();
    for (const byte of bytes) decoder.push(Buffer.of(byte));
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0].header, { type: "echo", id: 3, note: "ü€", size: 10 });
    assert.equal(frames[0].body.toString(), "body bytes");
    assert.ok(decoder.idle);
  });

  test("decodes a thousand frames pushed as one chunk, in order", () => {
    const chunk = Buffer.concat(Array.from({ length: 1000 }, (_, i) => encodeFrame({ type: "t", id: i }, Buffer.from(String(i)))));
    const { frames, decoder } = collector();
    decoder.push(chunk);
    assert.equal(frames.length, 1000);
    frames.forEach((frame, i) => {
      assert.equal(frame.header.id, i);
      assert.equal(frame.body.toString(), String(i));
    });
  });

  test("a frame without size has an empty body", () => {
    const { frames, decoder } = collector();
    decoder.push(frameOf(2, "{}"));
    assert.deepEqual(frames, [{ header: {}, body: Buffer.alloc(0) }]);
  });

  test("refuses a header length above the limit before buffering it", () => {
    const { decoder } = collector({ maxHeaderSize: 100 });
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(101);
    expectProtocolError(() => decoder.push(prefix), "E_FRAME_TOO_LARGE");
    assert.equal(decoder.bufferedBytes, 0);
    expectProtocolError(() => decoder.push(Buffer.from("{}")), "E_FRAME_TOO_LARGE");
  });

  test("refuses the largest header length the prefix can say", () => {
    const { decoder } = collector();
    expectProtocolError(() => decoder.push(Buffer.from("ffffffff", "hex")), "E_FRAME_TOO_LARGE");
  });

  test("refuses a body size above the limit as soon as the header is read", () => {
    const { decoder } = collector({ maxBodySize: 10 });
    const err = expectProtocolError(() => decoder.push(frameOf(18, '{"id":4,"size":11}')), "E_FRAME_TOO_LARGE");
    assert.equal(err.id, 4);
  });

  for (const [name, text, code] of [
    ["not JSON", "{nope", "E_BAD_HEADER"],
    ["an array", "[1,2]", "E_BAD_HEADER"],
    ["null", "null", "E_BAD_HEADER"],
    ["a string", '"hello"', "E_BAD_HEADER"],
    ["empty", "", "E_BAD_HEADER"],
    ["a negative size", '{"size":-1}', "E_BAD_SIZE"],
    ["a fractional size", '{"size":1.5}', "E_BAD_SIZE"],
    ["a string size", '{"size":"10"}', "E_BAD_SIZE"],
    ["an unsafe size", '{"size":9007199254740993}', "E_BAD_SIZE"],
  ] as const) {
    test(`refuses a header that is ${name} with ${code}`, () => {
      const { decoder } = collector();
      expectProtocolError(() => decoder.push(frameOf(Buffer.byteLength(text), text)), code);
    });
  }

  test("refuses a header that is not valid UTF-8", () => {
    const { decoder } = collector();
    const bad = Buffer.concat([Buffer.from("0000000a", "hex"), Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expectProtocolError(() => decoder.push(bad), "E_BAD_HEADER");
  });

  test("end() in the middle of a frame fails with E_TRUNCATED", () => {
    const { decoder } = collector();
    decoder.push(encodeFrame({ id: 9, size: 0 }, Buffer.from("abc")).subarray(0, 10));
    expectProtocolError(() => decoder.end(), "E_TRUNCATED");
  });

  test("streams a body in chunks when onHeader asks for it", () => {
    const events: string[] = [];
    const decoder = new FrameDecoder(
      {
        onHeader: (header) => (header.type === "upload" ? "stream" : "buffer"),
        onFrame: (header, body) => events.push(`frame ${String(header.type)} ${body.toString()}`),
        onBodyStart: (header, size) => events.push(`start ${String(header.type)} ${size}`),
        onBodyChunk: (chunk) => events.push(`chunk ${chunk.toString()}`),
        onBodyEnd: () => events.push("end"),
      },
      { maxBodySize: 4 },
    );
    const bytes = Buffer.concat([
      encodeFrame({ type: "upload", id: 1 }, Buffer.from("0123456789")),
      encodeFrame({ type: "small", id: 2 }, Buffer.from("ok")),
      encodeFrame({ type: "upload", id: 3 }),
    ]);
    const head = bytes.indexOf("0123") + 3;
    decoder.push(bytes.subarray(0, head));
    decoder.push(bytes.subarray(head, head + 4));
    decoder.push(bytes.subarray(head + 4));
    assert.deepEqual(events, ["start upload 10", "chunk 012", "chunk 3456", "chunk 789", "end", "frame small ok", "start upload 0", "end"]);
  });

  test("a streamed body is still held to maxStreamSize", () => {
    const decoder = new FrameDecoder({ onHeader: () => "stream", onFrame: () => {} }, { maxStreamSize: 5 });
    expectProtocolError(() => decoder.push(frameOf(10, '{"size":6}')), "E_FRAME_TOO_LARGE");
  });
});

const headerArb = fc.record(
  {
    type: fc.string({ minLength: 1, maxLength: 20 }),
    id: fc.nat(),
    note: fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 })),
  },
  { requiredKeys: ["type", "id"], noNullPrototype: true },
);
const frameArb = fc.record({ header: headerArb, body: fc.uint8Array({ maxLength: 300 }) }, { noNullPrototype: true });

/** Splits bytes at arbitrary cut points. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe("FrameDecoder properties", () => {
  test("round-trips any frames under any chunking", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (input, cuts) => {
        const bytes = Buffer.concat(input.map(({ header, body }) => encodeFrame(header, body)));
        const { frames, decoder } = collector();
        for (const chunk of chunked(bytes, cuts)) decoder.push(chunk);
        decoder.end();
        assert.equal(frames.length, input.length);
        frames.forEach((frame, i) => {
          const expected = input[i].body.length === 0 ? input[i].header : { ...input[i].header, size: input[i].body.length };
          assert.deepEqual(frame.header, expected);
          assert.deepEqual(new Uint8Array(frame.body), input[i].body);
        });
      }),
      { numRuns: 300 },
    );
  });

  test("streamed bodies arrive whole under any chunking", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 40 }), (input, cuts) => {
        const bodies: Buffer[][] = [];
        const decoder = new FrameDecoder({
          onHeader: () => "stream",
          onFrame: () => assert.fail("no buffered frame expected"),
          onBodyStart: () => bodies.push([]),
          onBodyChunk: (chunk) => bodies[bodies.length - 1].push(Buffer.from(chunk)),
        });
        const bytes = Buffer.concat(input.map(({ header, body }) => encodeFrame(header, body)));
        for (const chunk of chunked(bytes, cuts)) decoder.push(chunk);
        assert.deepEqual(bodies.map((parts) => new Uint8Array(Buffer.concat(parts))), input.map(({ body }) => body));
      }),
      { numRuns: 200 },
    );
  });

  test("transient chunks: what the decoder keeps survives the reuse of the pushed memory", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (input, cuts) => {
        // Odd ids stream (their pieces copied by the handler, as the contract says), even ones are buffered and
        // kept exactly as delivered: a view of reused memory would show the 0xee the buffer is refilled with.
        const kept: Buffer[] = [];
        const decoder = new FrameDecoder({
          onHeader: (header) => ((header.id as number) % 2 === 1 ? "stream" : "buffer"),
          onFrame: (_header, body) => kept.push(body),
          onBodyStart: () => kept.push(Buffer.alloc(0)),
          onBodyChunk: (chunk) => (kept[kept.length - 1] = Buffer.concat([kept[kept.length - 1], chunk])),
        });
        const bytes = Buffer.concat(input.map(({ header, body }) => encodeFrame(header, body)));
        const reused = Buffer.alloc(bytes.length);
        for (const chunk of chunked(bytes, cuts)) {
          const view = reused.subarray(0, chunk.length);
          chunk.copy(view);
          decoder.push(view, true);
          reused.fill(0xee);
        }
        decoder.end();
        assert.deepEqual(kept.map((body) => new Uint8Array(body)), input.map(({ body }) => body));
      }),
      { numRuns: 300 },
    );
  });

  test("arbitrary garbage never crashes the decoder: it decodes or fails with a ProtocolError", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const decoder = new FrameDecoder({ onFrame: () => {} }, { maxHeaderSize: 256, maxBodySize: 256 });
        for (const chunk of chunks) {
          try {
            decoder.push(Buffer.from(chunk));
          } catch (err) {
            assert.ok(err instanceof ProtocolError, String(err));
            assert.match(err.code, /^E_(BAD_HEADER|BAD_SIZE|FRAME_TOO_LARGE)$/);
            return;
          }
        }
        assert.ok(decoder.bufferedBytes <= 4 + 256 + 256);
      }),
      { numRuns: 1000 },
    );
  });

  test("garbage after a valid prefix never costs more memory than the limits", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 512 }), (length, rest) => {
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(length);
        const decoder = new FrameDecoder({ onFrame: () => {} }, { maxHeaderSize: 128, maxBodySize: 128 });
        try {
          decoder.push(prefix);
          decoder.push(Buffer.from(rest));
        } catch (err) {
          assert.ok(err instanceof ProtocolError);
        }
        assert.ok(decoder.bufferedBytes <= 4 + 128 + 128);
      }),
      { numRuns: 500 },
    );
  });
});
