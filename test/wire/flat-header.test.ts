import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parseFlatHeader } from "../../src/wire/flat-header.js";
import { ErrorCode, ProtocolError, parseHeader } from "../../src/wire/index.js";

/** Holds `actual` to be what JSON.parse makes of `text`: the same values, the same key order, the same prototype. */
function assertSameAsJson(actual: unknown, text: string): void {
  const expected: unknown = JSON.parse(text);
  assert.deepStrictEqual(actual, expected);
  assert.deepEqual(Object.keys(actual as object), Object.keys(expected as object));
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected));
}

/** The header of `text` as it sits in a frame: somewhere inside a larger buffer, with bytes on both sides. */
function framed(text: string): { bytes: Buffer; start: number; end: number } {
  const inner = Buffer.from(text, "utf8");
  const bytes = Buffer.concat([Buffer.from('{"x":'), inner, Buffer.from("}9")]);
  return { bytes, start: 5, end: 5 + inner.length };
}

/** Keys and values of the shapes the fast path takes, plus a few it must leave alone. */
const asciiText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const flatValue = fc.oneof(asciiText, fc.maxSafeNat(), fc.nat({ max: 1000 }), fc.boolean(), fc.constant(null));
const anyKey = fc.oneof(asciiText, fc.string(), fc.constantFrom("__proto__", "constructor", "0", "1", "", "id", "type", "size"));

describe("parseFlatHeader", () => {
  test("the headers wharf's clients and servers write take the fast path", () => {
    for (const header of [
      { type: "ping", id: 1, size: 64 },
      { id: 9_007_199, ok: true, size: 4096 },
      { type: "files.stat", id: 0, path: "a/b c.txt" },
      { id: 3, ok: false, fatal: true, note: null },
      {},
    ]) {
      const text = JSON.stringify(header);
      const { bytes, start, end } = framed(text);
      const parsed = parseFlatHeader(bytes, start, end);
      assert.notEqual(parsed, undefined, text);
      assertSameAsJson(parsed, text);
    }
  });

  test("gives exactly what JSON.parse gives for any flat object, or leaves it to JSON.parse", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(anyKey, flatValue), { maxLength: 8 }), (entries) => {
        const object: Record<string, unknown> = {};
        for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
        const text = JSON.stringify(object);
        const { bytes, start, end } = framed(text);
        const parsed = parseFlatHeader(bytes, start, end);
        if (parsed !== undefined) assertSameAsJson(parsed, text);
        assertSameAsJson(parseHeader(bytes, start, end), text);
      }),
      { numRuns: 2000 },
    );
  });

  test("never accepts bytes JSON.parse refuses, nor parses them differently", () => {
    // Objects assembled from JSON's own pieces, with near misses in every place: duplicate keys, leading zeros,
    // signs, fractions, exponents, escapes, whitespace, control and non-ASCII bytes, truncated literals, nesting.
    const key = fc.constantFrom('"a"', '"type"', '"id"', '"__proto__"', '""', '"\\n"', '"\u00e9"', '"x\u0001"', "a", '"a', " \"a\"");
    const colon = fc.constantFrom(":", ":", ":", " :", ": ", "");
    const value = fc.constantFrom('"ping"', '""', '"a b"', "0", "7", "01", "-1", "1.5", "2e3", "1E2", "true", "false", "null", "tru", "nul", "[1]", "{}", '"\\"', '"\u00e9"', "9007199254740993", "123456789012345", "1234567890123456", " 1", "1 ");
    const comma = fc.constantFrom(",", ",", ",", ", ", ",,", "");
    const text = fc
      .tuple(fc.array(fc.tuple(key, colon, value), { maxLength: 6 }), comma, fc.constantFrom("{", "{", " {", "["), fc.constantFrom("}", "}", "} ", "]", ""))
      .map(([entries, separator, open, close]) => `${open}${entries.map(([k, c, v]) => `${k}${c}${v}`).join(separator)}${close}`);
    let accepted = 0;
    fc.assert(
      fc.property(text, (candidate) => {
        const { bytes, start, end } = framed(candidate);
        const parsed = parseFlatHeader(bytes, start, end);
        if (parsed === undefined) return;
        accepted += 1;
        assertSameAsJson(parsed, candidate);
      }),
      { numRuns: 5000 },
    );
    // The generator must reach the accepting path often, or this test proves nothing.
    assert.ok(accepted > 100, `only ${accepted} of 5000 texts took the fast path`);
  });

  test("repeated keys keep the last value and the first position, as JSON.parse does", () => {
    const text = '{"a":1,"b":"x","a":"y"}';
    const { bytes, start, end } = framed(text);
    const parsed = parseFlatHeader(bytes, start, end);
    assert.notEqual(parsed, undefined);
    assertSameAsJson(parsed, text);
  });

  test("a __proto__ key is an own property, never the prototype", () => {
    const text = '{"__proto__":{"polluted":true},"id":1}';
    const header = parseHeader(Buffer.from(text), 0, text.length);
    assert.equal(Object.getPrototypeOf(header), Object.prototype);
    assert.equal(Object.hasOwn(header, "__proto__"), true);
    assert.equal((header as Record<string, unknown>).polluted, undefined);
    const flat = '{"__proto__":1}';
    assert.equal(parseFlatHeader(Buffer.from(flat), 0, flat.length), undefined);
  });

  test("many distinct keys and values, more than the string cache holds, still parse right", () => {
    for (let i = 0; i < 5000; i += 1) {
      const text = JSON.stringify({ [`k${i}`]: `v${i * 7}`, type: `t${i % 97}`, id: i });
      const { bytes, start, end } = framed(text);
      assertSameAsJson(parseFlatHeader(bytes, start, end), text);
    }
  });

  test("what the fast path leaves alone still fails as before: invalid UTF-8, not JSON, not an object", () => {
    for (const bytes of [Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), Buffer.from('{"a":01}'), Buffer.from("[1]"), Buffer.from("{")]) {
      assert.throws(
        () => parseHeader(bytes, 0, bytes.length),
        (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.BAD_HEADER,
      );
    }
  });
});
