/**
 * Integers where the docs say integers (issue 12): every field protocol.md documents as an integer (sizes,
 * offsets, counts, message numbers, times in whole ms) is a safe integer in every reply type that has it, from a
 * real `wharf serve` over a real socket. A file's mtime on disk has sub-millisecond digits: the reply must not.
 */
import assert from "node:assert/strict";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect, type Connection } from "../../src/client/index.js";
import { AccountStore } from "../../src/services/accounts/index.js";
import { WharfError } from "../../src/wire/index.js";
import { startServe, tempDir } from "../helpers/cli.js";

function assertIntegers(what: string, record: Record<string, unknown>, fields: string[]): void {
  for (const field of fields) {
    assert.ok(field in record, `${what} has ${field}`);
    assert.ok(Number.isSafeInteger(record[field]), `${what}.${field} is an integer: ${String(record[field])}`);
  }
}

async function loggedIn(url: string): Promise<Connection> {
  const conn = await connect(url);
  await conn.request("auth", { user: "alice", password: "pw" });
  return conn;
}

describe("integer fields of every reply type", () => {
  test("files, auth, chat and error data carry whole numbers where protocol.md says integer", async (t) => {
    const data = tempDir(t);
    await new AccountStore(data).add("alice", "pw");
    const serve = await startServe(t, ["--data", data, "--no-udp"]);
    const url = serve.url("tcp");
    const conn = await loggedIn(url);
    t.after(() => conn.destroy());

    // files.put.begin → offset; files.put.data; files.put.commit → fileSize, mtime (sent with a fractional mtime).
    const body = Buffer.from("integers only\n");
    const begin = await conn.request("files.put.begin", { path: "n.txt", fileSize: body.length, mtime: 1796072412246 });
    assertIntegers("files.put.begin", begin.header, ["offset"]);
    await conn.request("files.put.data", { upload: begin.header.upload, offset: 0 }, body);
    const { createHash } = await import("node:crypto");
    const commit = await conn.request("files.put.commit", { upload: begin.header.upload, sha256: createHash("sha256").update(body).digest("hex") });
    assertIntegers("files.put.commit", commit.header, ["fileSize", "mtime"]);

    // A file whose mtime on disk has a fraction of a millisecond.
    const onDisk = join(data, "homes", "alice", "frac.txt");
    writeFileSync(onDisk, "x");
    utimesSync(onDisk, 1796072412.2460002, 1796072412.2460002);

    const stat = await conn.request("files.stat", { path: "frac.txt" });
    assertIntegers("files.stat entry", stat.header.entry as Record<string, unknown>, ["size", "mtime"]);
    const entries: Record<string, unknown>[] = [];
    const list = await conn.request("files.list", { path: "" }, undefined, {
      onFrame: (_header, chunk) => void entries.push(...(JSON.parse(chunk.toString()) as Record<string, unknown>[])),
    });
    assertIntegers("files.list", list.header, ["count"]);
    assert.ok(entries.length >= 2);
    for (const entry of entries) assertIntegers(`files.list entry ${String(entry.name)}`, entry, ["size", "mtime"]);
    const get = await conn.requestStream("files.get", { path: "frac.txt", offset: 0 });
    for await (const _chunk of get.body) void _chunk;
    assertIntegers("files.get", get.header, ["fileSize", "mtime", "offset"]);
    await conn.request("files.mkdir", { path: "d" });
    const rm = await conn.request("files.rm", { path: "d" });
    assertIntegers("files.rm", rm.header, ["files"]);

    // auth with a token → expires; chat.join → lastMsgId, memberCount; chat.send → msgId, ts.
    const issued = await conn.request("auth", { user: "alice", password: "pw", issueToken: true, tokenTtl: 1_234.5 });
    assertIntegers("auth (issueToken)", issued.header, ["expires"]);
    const join1 = await conn.request("chat.join", { room: "lobby" });
    assertIntegers("chat.join", join1.header, ["lastMsgId", "memberCount"]);
    const sent = await conn.request("chat.send", { room: "lobby", clientId: "c1" }, Buffer.from("hi"));
    assertIntegers("chat.send", sent.header, ["msgId", "ts"]);
    const history = await conn.request("chat.history", { room: "lobby" });
    assertIntegers("chat.history", history.header, ["count", "remaining", "lastMsgId", "firstKept"]);
    for (const line of history.body.toString().trim().split("\n")) assertIntegers("chat.history record", JSON.parse(line), ["msgId", "ts"]);
    const rooms = await conn.request("chat.rooms", {});
    assertIntegers("chat.rooms", rooms.header, ["count", "remaining"]);

    // E_AUTH_THROTTLED → data.retryAfterMs, after enough failures from this address for one name.
    let throttled: WharfError | undefined;
    const guesser = await connect(url);
    t.after(() => guesser.destroy());
    for (let i = 0; i < 6 && throttled === undefined; i += 1) {
      try {
        await guesser.request("auth", { user: "alice", password: `wrong${i}` });
      } catch (err) {
        if (err instanceof WharfError && err.code === "E_AUTH_THROTTLED") throttled = err;
      }
    }
    assert.ok(throttled !== undefined, "the guesser was throttled");
    assertIntegers("E_AUTH_THROTTLED data", throttled.data as Record<string, unknown>, ["retryAfterMs"]);
  });
});
