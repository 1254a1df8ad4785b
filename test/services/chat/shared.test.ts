/**
 * Shared chat (issue 14) in one process: two chat services on two servers, one Redis. The scenarios of
 * chat.test.ts across them: one order, retries recognised on the other node, replay with since from the stream,
 * who and presence across nodes, direct messages across nodes, and E_UNAVAILABLE while Redis is down.
 */
import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { AccountStore, registerAuth } from "../../../src/services/accounts/index.js";
import { SharedChatService, registerChatService, type PresenceEvent } from "../../../src/services/chat/index.js";
import { Redis } from "ioredis";
import { openRedis } from "../../../src/services/shared/redis.js";
import { tempDir } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";
import { chatClient, codeOf, eventually, PASSWORD } from "./helpers.js";

let redis: RedisServer;

/** A node: a server with auth and shared chat on the test's Redis. */
async function node(t: TestContext, users: string[], dataDir: string, prefix: string): Promise<{ url: string; chat: SharedChatService }> {
  const link = openRedis(redis.url, (await import("pino")).pino({ level: "silent" }));
  const accounts = new AccountStore(dataDir);
  for (const user of users) if ((await accounts.get(user)) === undefined) await accounts.add(user, PASSWORD);
  let chat: SharedChatService | undefined;
  t.after(async () => {
    await chat?.close();
    await link.close();
  });
  await eventually(() => link.ready, "redis link ready");
  const { url } = await startServer(t, {}, (server) => {
    registerAuth(server, accounts);
    chat = registerChatService(server, new SharedChatService({ dataDir }, { rate: { rate: 10_000, burst: 10_000 } }, link, { prefix, auditInterval: 500 }));
  });
  return { url, chat: chat! };
}

describe("shared chat through Redis", () => {
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.dispose());

  test("members on two nodes see one order; a retry on the other node is recognised; since replays from the stream", async (t) => {
    const dir = tempDir(t);
    const prefix = `t1:${Date.now()}:`;
    const a = await node(t, ["alice", "bob", "carol"], dir, prefix);
    const b = await node(t, ["alice", "bob", "carol"], dir, prefix);
    const alice = await chatClient(t, a.url, "alice");
    const bob = await chatClient(t, b.url, "bob");
    const presence: PresenceEvent[] = [];
    alice.client.on("presence", (p: PresenceEvent) => presence.push(p));
    await alice.client.join("lobby");
    await bob.client.join("lobby");
    await Promise.all([
      Promise.all(Array.from({ length: 50 }, (_, i) => alice.client.send("lobby", `a${i}`))),
      Promise.all(Array.from({ length: 50 }, (_, i) => bob.client.send("lobby", `b${i}`))),
    ]);
    const [ra, rb] = await Promise.all([alice.waitFor(100), bob.waitFor(100)]);
    assert.deepEqual(ra.map((m) => m.msgId), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.deepEqual(rb.map((m) => `${m.msgId}:${m.text}`), ra.map((m) => `${m.msgId}:${m.text}`));
    assert.deepEqual(await alice.client.who("lobby"), ["alice", "bob"]);
    await eventually(() => presence.some((p) => p.user === "bob" && p.action === "join"), "bob's join seen on the other node");

    const first = await alice.client.send("lobby", "once", "cid-1");
    const alice2 = await chatClient(t, b.url, "alice");
    await alice2.client.join("lobby");
    const again = await alice2.client.send("lobby", "once", "cid-1");
    assert.deepEqual([again.msgId, again.duplicate], [first.msgId, true]);

    const carol = await chatClient(t, b.url, "carol");
    const joined = await carol.client.join("lobby", { since: 97 });
    assert.equal(joined.lastMsgId, 101);
    assert.equal(joined.replayed, 4);
    await alice.client.send("lobby", "live");
    const got = await carol.waitFor(5);
    assert.deepEqual(got.map((m) => [m.msgId, m.replay === true]), [[98, true], [99, true], [100, true], [101, true], [102, false]]);
    const page = await carol.client.history("lobby", { since: 99, before: 102 });
    assert.deepEqual(page.messages.map((m) => m.msgId), [100, 101]);
    assert.equal(page.lastMsgId, 102);

    const dm = await carol.client.sendTo("alice", "psst");
    await eventually(() => alice.messages.some((m) => m.to === "alice" && m.text === "psst"), "a direct message across nodes");
    assert.equal(dm.duplicate, false);
    assert.equal(await codeOf(carol.client.sendTo("nobody", "hello?")), "E_USER_OFFLINE");
    await bob.client.leave("lobby");
    await eventually(async () => !(await alice.client.who("lobby")).includes("bob"), "bob gone from who");
    await eventually(() => presence.some((p) => p.user === "bob" && p.action === "leave"), "bob's leave seen on the other node");
  });

  test("while Redis is down chat fails fast with E_UNAVAILABLE; when it is back, members carry on and nothing acknowledged is lost", async (t) => {
    const dir = tempDir(t);
    const prefix = `t2:${Date.now()}:`;
    const a = await node(t, ["alice", "bob"], dir, prefix);
    const b = await node(t, ["alice", "bob"], dir, prefix);
    const alice = await chatClient(t, a.url, "alice");
    const bob = await chatClient(t, b.url, "bob");
    await alice.client.join("ops");
    await bob.client.join("ops");
    for (let i = 1; i <= 20; i += 1) await alice.client.send("ops", `before ${i}`);
    await bob.waitFor(20);
    await redis.stop();
    const started = Date.now();
    assert.equal(await codeOf(alice.client.send("ops", "while down")), "E_UNAVAILABLE");
    assert.ok(Date.now() - started < 1_500, "fails fast");
    await redis.restart();
    let acked = 20;
    await eventually(async () => {
      try {
        await alice.client.send("ops", `after ${acked + 1}`);
        acked += 1;
        return true;
      } catch {
        return false;
      }
    }, "sends work again", 20_000);
    for (let i = 0; i < 10; i += 1) {
      await bob.client.send("ops", `bob after ${i}`);
      acked += 1;
    }
    const got = await bob.waitFor(acked, 20_000);
    assert.deepEqual(got.map((m) => m.msgId), Array.from({ length: acked }, (_, i) => i + 1), "every acknowledged message, once, in order");
    await alice.waitFor(acked, 20_000);
    assert.deepEqual(alice.messages.map((m) => m.msgId), got.map((m) => m.msgId));
  });

  test("a message missing from pub/sub while the stream cannot be read is not skipped: it is delivered, in order, once the stream answers", async (t) => {
    const dir = tempDir(t);
    const prefix = `t3:${Date.now()}:`;
    const a = await node(t, ["alice"], dir, prefix);
    const alice = await chatClient(t, a.url, "alice");
    await alice.client.join("gap");
    const raw = new Redis(redis.url);
    t.after(() => raw.quit());
    const key = (part: string): string => `${prefix}{gap}:${part}`;
    // Message 1 reaches the stream but not pub/sub (the shape of a subscription dropped while it went out), and the
    // node's reads of the stream fail (here: the key holds a string, so XRANGE is refused) when 2 arrives live.
    await raw.set(key("log"), "not a stream");
    await raw.set(key("seq"), 2);
    const now = Date.now();
    await raw.publish(key("ev"), JSON.stringify({ k: "m", id: 2, ts: now, f: "bob", t: "two", x: "" }));
    await new Promise((resolve) => setTimeout(resolve, 700)); // an audit (500 ms) runs while the stream still fails
    await raw.del(key("log"));
    await raw.xadd(key("log"), "1-1", "f", "bob", "t", "one", "ts", now, "x", "");
    await raw.xadd(key("log"), "2-1", "f", "bob", "t", "two", "ts", now, "x", "");
    const got = await alice.waitFor(2, 10_000);
    assert.deepEqual(got.map((m) => `${m.msgId}:${m.text}`), ["1:one", "2:two"], "message 1 first, then 2, each once");
    await alice.client.send("gap", "three");
    await alice.waitFor(3);
    assert.deepEqual(alice.messages.map((m) => m.msgId), [1, 2, 3]);
  });
});
