import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { AMPLIFICATION_FACTOR, fitReply, USE_STREAM } from "../../src/server/amplification.js";
import { errorFrame, MAX_ERROR_MESSAGE, quote } from "../../src/server/reply.js";
import { decodeDatagram, encodeDatagram } from "../../src/wire/index.js";

const anyJson = fc.jsonValue();

describe("error replies are bounded whatever they carry", () => {
  test("errorFrame() never throws and stays under 20 KiB for any message and data", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40_000 }), fc.option(anyJson, { nil: undefined }), fc.boolean(), (message, data, fatal) => {
        const frame = errorFrame(7, { code: "E_SOMETHING", message, data }, fatal);
        assert.ok(frame.length < 20 * 1024, `frame of ${frame.length} bytes`);
        const { header } = decodeDatagram(frame);
        const error = header.error as { code: string; message: string };
        assert.equal(error.code, "E_SOMETHING");
        assert.ok(error.message.length <= MAX_ERROR_MESSAGE + 1);
        assert.equal(header.fatal === true, fatal);
      }),
    );
  });

  test("a message of 30,000 quotes, which doubles under JSON escaping, is cut and the frame still encodes", () => {
    const frame = errorFrame(1, { code: "E_UNKNOWN_TYPE", message: `unknown request type ${JSON.stringify('"'.repeat(30_000))}` });
    assert.ok(frame.length < 2_000);
  });

  test("data that cannot be encoded (a BigInt, a cycle, too large) is left out and the code and message remain", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const data of [10n, cyclic, { big: "x".repeat(100_000) }]) {
      const { header } = decodeDatagram(errorFrame(2, { code: "E_X", message: "m", data }));
      assert.deepEqual(header.error, { code: "E_X", message: "m" });
    }
  });

  test("quote() cuts a long value and quotes it as JSON", () => {
    assert.equal(quote("ping"), '"ping"');
    const long = quote('"'.repeat(1_000));
    assert.ok(long.length < 200);
    assert.equal(JSON.parse(long), `${'"'.repeat(64)}…`);
  });
});

describe("datagram replies are at most 3x their request (anti-amplification)", () => {
  test("fitReply() returns the reply itself when it fits, else a smaller frame within the budget, else null", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70_000 }), fc.integer({ min: 0, max: 60_000 }), fc.boolean(), (requestSize, bodySize, isError) => {
        const error = isError ? { code: "E_FAILED", message: "x".repeat(bodySize % 2_000) } : undefined;
        const reply = isError ? errorFrame(9, error!) : encodeDatagram({ id: 9, ok: true }, Buffer.alloc(bodySize));
        const fitted = fitReply(9, reply, requestSize, error);
        if (reply.length <= AMPLIFICATION_FACTOR * requestSize) {
          assert.equal(fitted, reply);
          return;
        }
        if (fitted === null) return;
        assert.ok(fitted.length <= AMPLIFICATION_FACTOR * requestSize);
        const { header } = decodeDatagram(fitted);
        assert.equal(header.id, 9);
        assert.equal(header.ok, false);
        const code = (header.error as { code: string }).code;
        assert.ok(code === USE_STREAM || code === error?.code, code);
      }),
    );
  });

  test("a large ok reply to a small request becomes E_USE_STREAM, which says what to do", () => {
    const reply = encodeDatagram({ id: 1, ok: true }, Buffer.alloc(5_000));
    const fitted = fitReply(1, reply, 120);
    assert.ok(fitted !== null);
    const error = decodeDatagram(fitted).header.error as { code: string; message: string };
    assert.equal(error.code, USE_STREAM);
    assert.match(error.message, /tcp/);
  });
});
