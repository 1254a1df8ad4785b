import assert from "node:assert/strict";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect } from "../../../src/client/index.js";
import { login } from "../../../src/services/accounts/index.js";
import { ChatClient, ChatService, type ReceivedMessage } from "../../../src/services/chat/index.js";
import { runWharf, startServe, tempDir } from "../../helpers/cli.js";
import { eventually } from "./helpers.js";

async function session(t: { after: (fn: () => unknown) => void }, url: string, user: string): Promise<{ chat: ChatClient; got: ReceivedMessage[] }> {
  const conn = await connect(url);
  t.after(() => conn.destroy());
  await login(conn, user, "pw");
  const chat = new ChatClient(conn);
  const got: ReceivedMessage[] = [];
  chat.on("message", (m: ReceivedMessage) => got.push(m));
  return { chat, got };
}

function lines(path: string): { msgId: number; text: string }[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as { msgId: number; text: string });
}

describe("chat history", () => {
  test("survives a restart of wharf serve: a client asks for what it missed; numbering and retries carry on", async (t) => {
    const data = tempDir(t);
    for (const user of ["alice", "bob"]) {
      assert.equal((await runWharf(["user", "add", user, "--data", data, "--password-stdin"], { input: "pw\n" })).code, 0);
    }
    const first = await startServe(t, ["--data", data, "--chat-history", "5"]);
    const alice = await session(t, first.url("tcp"), "alice");
    const bob = await session(t, first.url("tcp"), "bob");
    await alice.chat.join("lobby");
    await bob.chat.join("lobby");
    for (let i = 1; i <= 3; i += 1) await alice.chat.send("lobby", `before ${i}`, `cid-${i}`);
    await eventually(() => bob.got.length === 3, "bob's messages");
    const bobSaw = bob.chat.lastSeen.get("lobby");
    assert.equal(bobSaw, 3);
    bob.chat.conn.destroy();
    for (let i = 4; i <= 8; i += 1) await alice.chat.send("lobby", `while away ${i}`, `cid-${i}`);
    assert.equal(await first.stop(), 0);

    const second = await startServe(t, ["--data", data, "--chat-history", "5"]);
    const back = await session(t, second.url("tcp"), "bob");
    const joined = await back.chat.join("lobby", { since: bobSaw });
    assert.equal(joined.lastMsgId, 8);
    await eventually(() => back.got.length === 5, "replayed messages");
    assert.deepEqual(back.got.map((m) => [m.msgId, m.text, m.replay]), [4, 5, 6, 7, 8].map((n) => [n, `while away ${n}`, true]));
    const again = await session(t, second.url("tcp"), "alice");
    await again.chat.join("lobby");
    const retried = await again.chat.send("lobby", "while away 8", "cid-8");
    assert.deepEqual([retried.msgId, retried.duplicate], [8, true], "a retry after the restart is still recognised");
    const next = await again.chat.send("lobby", "after", "cid-9");
    assert.equal(next.msgId, 9);
    const page = await again.chat.history("lobby", { since: 0 });
    assert.deepEqual(page.messages.map((m) => m.msgId), [5, 6, 7, 8, 9], "the last 5 are kept");
    assert.equal(await second.stop(), 0);
    // The file was compacted to the last 5 at start; the stop wrote the message sent just before it. (A write in
    // flight at exit may land twice: readers skip the repeat, see HistoryLog.flushSync.)
    const ids = lines(join(data, "chat", "lobby.jsonl")).map((l) => l.msgId);
    assert.deepEqual([...new Set(ids)], [4, 5, 6, 7, 8, 9]);
  });

  test("the file is compacted once it passes twice the kept number, and torn or repeated lines are skipped when read", async (t) => {
    const dataDir = tempDir(t);
    const chat = new ChatService({ dataDir }, { history: 10 });
    t.after(() => chat.close());
    const room = chat.room("big");
    await room.ready;
    for (let i = 1; i <= 35; i += 1) {
      room.publish({ ts: i, from: "alice", text: `m${i}`, body: Buffer.from(`m${i}`) });
      if (i % 5 === 0) await chat.flush();
    }
    await chat.flush();
    const path = join(dataDir, "chat", "big.jsonl");
    const ids = lines(path).map((l) => l.msgId);
    assert.ok(ids.length <= 20, `compacted: ${ids.length} lines`);
    assert.equal(ids.at(-1), 35);
    await chat.close();

    // A crash mid-write leaves a torn line; an exit flush racing a write may repeat lines.
    appendFileSync(path, '{"msgId":36,"ts":36,"from":"alice","te');
    appendFileSync(path, `\n${JSON.stringify({ msgId: 35, ts: 35, from: "alice", text: "m35" })}\n`);
    appendFileSync(path, `${JSON.stringify({ msgId: 36, ts: 36, from: "alice", text: "m36" })}\n`);
    const reopened = new ChatService({ dataDir }, { history: 10 });
    t.after(() => reopened.close());
    const again = reopened.room("big");
    await again.ready;
    assert.equal(again.lastMsgId, 36);
    assert.deepEqual(again.range(0).map((m) => m.text), Array.from({ length: 10 }, (_, i) => `m${27 + i}`));
    assert.deepEqual(lines(path).map((l) => l.msgId), Array.from({ length: 10 }, (_, i) => 27 + i), "compacted on load");
  });
});
