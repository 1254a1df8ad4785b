import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MAX_DATAGRAM_SIZE, ProtocolError, decodeDatagram, encodeDatagram, encodeFrame } from "../../src/wire/index.js";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, String(err));
    return err.code;
  }
  return "none";
}

describe("datagram codec", () => {
  test("round-trips a frame", () => {
    const datagram = encodeDatagram({ type: "time", id: 5 }, Buffer.from("xyz"));
    const { header, body } = decodeDatagram(datagram);
    assert.deepEqual(header, { type: "time", id: 5, size: 3 });
    assert.equal(body.toString(), "xyz");
  });

  test("refuses trailing bytes after the body with E_BAD_SIZE", () => {
    const datagram = Buffer.concat([encodeFrame({ id: 1 }, Buffer.from("ab")), Buffer.from("!")]);
    assert.equal(codeOf(() => decodeDatagram(datagram)), "E_BAD_SIZE");
  });

  test("refuses a body shorter than its size with E_BAD_SIZE", () => {
    const datagram = encodeFrame({ id: 1 }, Buffer.from("abc")).subarray(0, -1);
    assert.equal(codeOf(() => decodeDatagram(datagram)), "E_BAD_SIZE");
  });

  test("refuses datagrams too short for the prefix or the header with E_TRUNCATED", () => {
    assert.equal(codeOf(() => decodeDatagram(Buffer.from([0, 0]))), "E_TRUNCATED");
    assert.equal(codeOf(() => decodeDatagram(Buffer.from("0000000a7b7d", "hex"))), "E_TRUNCATED");
  });

  test("refuses to encode a frame larger than a datagram", () => {
    assert.equal(codeOf(() => encodeDatagram({ id: 1 }, Buffer.alloc(MAX_DATAGRAM_SIZE))), "E_FRAME_TOO_LARGE");
  });

  test("arbitrary bytes decode or fail with a ProtocolError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeDatagram(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof ProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
