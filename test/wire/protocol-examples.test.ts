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

test("docs/protocol.md shows the exact bytes of a password login and its reply", () => {
  const specBytes = (block: string): string => block.replace(/ {2,}\S.*$/gm, "").replace(/\s+/g, " ").trim();
  const blocks = [...spec.matchAll(/```\n([0-9a-f ]{11}[\s\S]*?)```/g)].map((m) => specBytes(m[1]));
  const request = hexOf(encodeFrame({ type: "auth", id: 1, user: "alice", password: "pw" }));
  const reply = hexOf(encodeFrame({ id: 1, ok: true, user: "alice", canExec: false }));
  assert.ok(blocks.includes(request), "the auth request's bytes");
  assert.ok(blocks.includes(reply), "the auth reply's bytes");
});

test("docs/protocol.md documents auth: both forms, the reply, E_AUTH, E_AUTH_THROTTLED with retryAfterMs, no UDP", () => {
  const section = spec.slice(spec.indexOf("### `auth`"), spec.indexOf("### Service types"));
  for (const needle of ["`password`", "`token`", "`issueToken`", "\"canExec\"", "\"expires\"", "E_AUTH`", "`E_AUTH_THROTTLED`", "retryAfterMs", "UDP", "`auth.revoke`"]) {
    assert.ok(section.includes(needle), `the auth section names ${needle}`);
  }
});

test("every request type wharf serve registers is listed in docs/protocol.md", async () => {
  const { Server } = await import("../../src/server/index.js");
  const { registerServices, DEFAULT_SERVICE_CONFIG } = await import("../../src/services/index.js");
  const { AccountStore, FileTokenStore } = await import("../../src/services/accounts/index.js");
  const { pino } = await import("pino");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dataDir = mkdtempSync(join(tmpdir(), "wharf-types-"));
  const server = new Server({ logger: pino({ level: "silent" }) });
  const services = registerServices(server, { dataDir, accounts: new AccountStore(dataDir), tokens: new FileTokenStore(dataDir), logger: pino({ level: "silent" }), config: DEFAULT_SERVICE_CONFIG });
  try {
    const types = [...services].flatMap((service) => [...service.types]);
    assert.ok(types.length > 20, `${types.length} types`);
    for (const type of types) assert.ok(spec.includes(`\`${type}\``), `protocol.md lists \`${type}\``);
  } finally {
    await server.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
