import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { encodeFrame } from "../../src/wire/index.js";

// The hex examples of docs/protocol.md are what strangers write clients from: they must stay exact.
const spec = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");

function hexOf(frame: Buffer): string {
  return frame.toString("hex").match(/../g)!.join(" ");
}

test("docs/protocol.md shows the exact bytes of a ping request and its reply", () => {
  const request = hexOf(encodeFrame({ type: "ping", id: 1 }, Buffer.from("hi")));
  const reply = hexOf(encodeFrame({ id: 1, ok: true }, Buffer.from("hi")));
  const specBytes = (block: string): string => block.replace(/ {2,}\S.*$/gm, "").replace(/\s+/g, " ").trim();
  const blocks = [...spec.matchAll(/```\n([0-9a-f ]{11}[\s\S]*?)```/g)].map((m) => specBytes(m[1]));
  assert.equal(blocks[0], request);
  assert.equal(blocks[1], reply);
});

test("docs/protocol.md gives the right header length of the error reply example", () => {
  const error = encodeFrame({ id: 2, ok: false, error: { code: "E_UNKNOWN_TYPE", message: 'unknown request type "nope"' } });
  const request = encodeFrame({ type: "nope", id: 2 });
  assert.ok(spec.includes(`00 00 00 ${error.subarray(3, 4).toString("hex")}  7b 22 69 64`));
  assert.ok(spec.includes(`${hexOf(request.subarray(0, 4))}  ${hexOf(request.subarray(4))}`));
});
