import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeFrame, encodeOkReplyParts, parseHeader } from "../../src/wire/index.js";

/** Splits one encoded frame into its header text and body. */
function split(frame: Buffer): { headerText: string; body: Buffer } {
  const length = frame.readUInt32BE(0);
  return { headerText: frame.toString("utf8", 4, 4 + length), body: frame.subarray(4 + length) };
}

describe("encodeOkReplyParts", () => {
  test("writes the same bytes JSON.stringify would, for any id and body size", () => {
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.oneof(fc.constantFrom(0, 1, 9, 10, 16 * 1024, 16 * 1024 + 1), fc.nat({ max: 40_000 })),
        (id, size) => {
          const body = Buffer.alloc(size, 0x61 + (size % 26));
          const encoded = Buffer.concat(encodeOkReplyParts(id, body));
          const expected = encodeFrame({ id, ok: true }, body);
          assert.deepEqual(encoded, expected);
          const { headerText } = split(encoded);
          assert.deepEqual(JSON.parse(headerText), size === 0 ? { id, ok: true } : { id, ok: true, size });
        },
      ),
      { numRuns: 500 },
    );
  });

  test("a large body is not copied: the second part is the body itself", () => {
    const body = Buffer.alloc(64 * 1024, 1);
    const parts = encodeOkReplyParts(42, body);
    assert.equal(parts.length, 2);
    assert.equal(parts[1], body);
    assert.deepEqual(parseHeader(parts[0], 4, parts[0].length), { id: 42, ok: true, size: body.length });
  });
});
