/**
 * The browser codec against src/wire: the same bytes out for the same frame, and for any message (valid,
 * mutated or random) the same decision as `decodeDatagram`, which decodes "exactly one frame" as a WebSocket
 * message must be decoded: the same header and body, or the same error code.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { FrameError, decodeFrame, encodeFrame } from "../../src/browser/codec.js";
import { ProtocolError, WharfError, decodeDatagram, encodeFrame as wireEncodeFrame } from "../../src/wire/index.js";

type Outcome = { ok: true; header: unknown; body: string } | { ok: false; code: string };

function browserOutcome(bytes: Uint8Array, limits?: { maxHeaderSize?: number; maxBodySize?: number }): Outcome {
  try {
    const { header, body } = decodeFrame(bytes, limits);
    return { ok: true, header, body: Buffer.from(body).toString("hex") };
  } catch (err) {
    assert.ok(err instanceof FrameError && err instanceof WharfError, `not a FrameError: ${String(err)}`);
    return { ok: false, code: err.code };
  }
}

function wireOutcome(bytes: Uint8Array, limits?: { maxHeaderSize?: number; maxBodySize?: number }): Outcome {
  try {
    const { header, body } = decodeDatagram(Buffer.from(bytes), limits);
    return { ok: true, header, body: body.toString("hex") };
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${String(err)}`);
    return { ok: false, code: err.code };
  }
}

function frameOf(headerBytes: Uint8Array, body: Uint8Array = new Uint8Array(0), length = headerBytes.length): Uint8Array {
  const out = Buffer.alloc(4 + headerBytes.length + body.length);
  out.writeUInt32BE(length, 0);
  out.set(headerBytes, 4);
  out.set(body, 4 + headerBytes.length);
  return out;
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const header = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "size" && k !== "__proto__"), jsonValue, { maxKeys: 6 });
const body = fc.uint8Array({ maxLength: 200 });

describe("browser codec", () => {
  test("encodeFrame writes the bytes of the hex fixture in protocol.md §8", () => {
    const bytes = encodeFrame({ type: "ping", id: 1 }, new TextEncoder().encode("hi"));
    assert.equal(Buffer.from(bytes).toString("hex"), "0000001f7b2274797065223a2270696e67222c226964223a312c2273697a65223a327d6869");
  });

  test("encodeFrame writes the same bytes as src/wire's encodeFrame for any header and body", () => {
    fc.assert(
      fc.property(header, body, (h, b) => {
        assert.deepEqual(Buffer.from(encodeFrame(h, b)), wireEncodeFrame(h, Buffer.from(b)));
      }),
      { numRuns: 500 },
    );
  });

  test("decodeFrame(encodeFrame(h, b)) gives h (with size) and b back", () => {
    fc.assert(
      fc.property(header, body, (h, b) => {
        const { header: decoded, body: out } = decodeFrame(encodeFrame(h, b));
        assert.deepEqual(decoded, JSON.parse(JSON.stringify(b.length === 0 && !("size" in h) ? h : { ...h, size: b.length })));
        assert.deepEqual(Buffer.from(out), Buffer.from(b));
      }),
      { numRuns: 500 },
    );
  });

  test("decodeFrame decides as decodeDatagram on valid frames with one byte changed, cut or added", () => {
    const mutated = fc
      .tuple(header, body, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "cut", "add"))
      .map(([h, b, at, byte, how]) => {
        const bytes = Buffer.from(encodeFrame(h, b));
        const i = at % bytes.length;
        if (how === "flip") bytes[i] = byte;
        if (how === "cut") return bytes.subarray(0, i);
        if (how === "add") return Buffer.concat([bytes, Buffer.of(byte)]);
        return bytes;
      });
    fc.assert(fc.property(mutated, (bytes) => assert.deepEqual(browserOutcome(bytes), wireOutcome(bytes))), { numRuns: 3000 });
  });

  test("decodeFrame decides as decodeDatagram on random bytes and random header texts", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => assert.deepEqual(browserOutcome(bytes), wireOutcome(bytes))), { numRuns: 2000 });
    const texts = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom("[]", "null", "1", '"x"', "{", '{"size":-1}', '{"size":1.5}', '{"size":"2"}', '{"size":null}', '{"size":9007199254740992}', "\uFEFF{}", " {} ", '{"id":3,"size":1e400}'),
    );
    fc.assert(
      fc.property(texts, fc.uint8Array({ maxLength: 4 }), (text, b) => {
        const bytes = frameOf(Buffer.from(text, "utf8"), b);
        assert.deepEqual(browserOutcome(bytes), wireOutcome(bytes));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (raw) => {
        const bytes = frameOf(Buffer.concat([Buffer.from('{"a":"'), raw, Buffer.from('"}')]));
        assert.deepEqual(browserOutcome(bytes), wireOutcome(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  test("hostile messages get the wire's codes, each length checked before what it announces", () => {
    const code = (bytes: Uint8Array, limits?: { maxHeaderSize?: number; maxBodySize?: number }): string => {
      const outcome = browserOutcome(bytes, limits);
      assert.equal(outcome.ok, false);
      assert.deepEqual(outcome, wireOutcome(bytes, limits));
      return (outcome as { code: string }).code;
    };
    assert.equal(code(Uint8Array.of(0, 0, 1)), "E_TRUNCATED");
    // A header length of 4 GiB in a 4-byte message: refused from the length alone.
    assert.equal(code(Uint8Array.of(0xff, 0xff, 0xff, 0xff)), "E_FRAME_TOO_LARGE");
    assert.equal(code(frameOf(Buffer.from("{}"), undefined, 10)), "E_TRUNCATED");
    assert.equal(code(frameOf(Buffer.from("[1]"))), "E_BAD_HEADER");
    assert.equal(code(frameOf(Buffer.from([0x7b, 0xff, 0x7d]))), "E_BAD_HEADER");
    assert.equal(code(frameOf(Buffer.from('{"id":1,"size":-1}'))), "E_BAD_SIZE");
    assert.equal(code(frameOf(Buffer.from('{"id":1,"size":2}'), Uint8Array.of(1))), "E_BAD_SIZE");
    assert.equal(code(frameOf(Buffer.from('{"id":1}'), Uint8Array.of(1))), "E_BAD_SIZE");
    // A body announced above the limit is refused before the body is looked at.
    assert.equal(code(frameOf(Buffer.from('{"id":1,"size":17000000}'))), "E_FRAME_TOO_LARGE");
    assert.equal(code(frameOf(Buffer.from('{"id":1,"size":3}'), Uint8Array.of(1, 2, 3)), { maxBodySize: 2 }), "E_FRAME_TOO_LARGE");
    const err = (() => {
      try {
        decodeFrame(frameOf(Buffer.from('{"id":7,"size":"x"}')));
      } catch (e) {
        return e as FrameError;
      }
    })();
    assert.equal(err?.id, 7);
  });

  test("encodeFrame refuses a header above the limit with E_FRAME_TOO_LARGE", () => {
    assert.throws(() => encodeFrame({ type: "x", id: 1, pad: "y".repeat(70_000) }), (err: unknown) => err instanceof WharfError && err.code === "E_FRAME_TOO_LARGE");
  });
});
