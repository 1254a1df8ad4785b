import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { attachment, noneMatch, parseRange, rangeStillValid } from "../../src/gateway/http-range.js";

describe("http-range: Range, If-Range, If-None-Match, Content-Disposition", () => {
  test("parseRange() answers one range, ignores what is invalid, and knows what cannot be satisfied", () => {
    const size = 1000;
    const cases: [string | undefined, ReturnType<typeof parseRange>][] = [
      [undefined, { kind: "full" }],
      ["bytes=0-499", { kind: "partial", range: { start: 0, end: 499 } }],
      ["bytes=500-", { kind: "partial", range: { start: 500, end: 999 } }],
      ["bytes=-1", { kind: "partial", range: { start: 999, end: 999 } }],
      ["bytes=-5000", { kind: "partial", range: { start: 0, end: 999 } }],
      ["bytes=990-2000", { kind: "partial", range: { start: 990, end: 999 } }],
      ["BYTES = 1 - 2", { kind: "full" }], // a space before "=" is not the syntax
      ["bytes= 1 - 2 ", { kind: "partial", range: { start: 1, end: 2 } }],
      ["bytes=1000-", { kind: "unsatisfiable" }],
      ["bytes=-0", { kind: "unsatisfiable" }],
      ["bytes=5-2", { kind: "full" }],
      ["bytes=-", { kind: "full" }],
      ["bytes=a-b", { kind: "full" }],
      ["items=0-1", { kind: "full" }],
      ["bytes=0-1,3-4", { kind: "full" }],
      ["bytes=99999999999999999999-", { kind: "full" }],
    ];
    for (const [header, expected] of cases) assert.deepEqual(parseRange(header, size), expected, String(header));
    assert.deepEqual(parseRange("bytes=0-", 0), { kind: "unsatisfiable" }, "nothing of an empty file can be asked for");
    assert.deepEqual(parseRange("bytes=-3", 0), { kind: "unsatisfiable" });
  });

  test("noneMatch() compares weakly and knows *; rangeStillValid() wants the exact strong tag", () => {
    const etag = '"blake3:ab"';
    assert.equal(noneMatch(undefined, etag), false);
    assert.equal(noneMatch('"blake3:ab"', etag), true);
    assert.equal(noneMatch('W/"blake3:ab"', etag), true);
    assert.equal(noneMatch('"x", "blake3:ab"', etag), true);
    assert.equal(noneMatch("*", etag), true);
    assert.equal(noneMatch('"blake3:abc"', etag), false);
    assert.equal(rangeStillValid(undefined, etag), true);
    assert.equal(rangeStillValid('"blake3:ab"', etag), true);
    assert.equal(rangeStillValid('W/"blake3:ab"', etag), false);
    assert.equal(rangeStillValid("Tue, 01 Dec 2026 00:00:00 GMT", etag), false);
  });

  test("attachment() gives an ASCII fallback and the exact UTF-8 name, quotes and backslashes made harmless", () => {
    assert.equal(attachment("a.txt"), `attachment; filename="a.txt"; filename*=UTF-8''a.txt`);
    assert.equal(attachment("résumé (1).pdf"), `attachment; filename="r_sum_ (1).pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%281%29.pdf`);
    assert.equal(attachment('evil";x=\\.txt'), `attachment; filename="evil_;x=_.txt"; filename*=UTF-8''evil%22%3Bx%3D%5C.txt`);
    assert.equal(attachment("日本"), `attachment; filename="__"; filename*=UTF-8''%E6%97%A5%E6%9C%AC`);
  });
});
