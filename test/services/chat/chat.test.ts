import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connect } from "../../../src/client/index.js";
import { ChatClient, type PresenceEvent } from "../../../src/services/chat/index.js";
import { rawConnect } from "../../helpers/raw.js";
import { encodeFrame } from "../../../src/wire/index.js";
import { login } from "../../../src/services/accounts/index.js";
import { chatClient, chatServer, codeOf, eventually, PASSWORD } from "./helpers.js";

describe("chat over TCP", () => {
  test("every member receives the room's messages in one order, numbered 1, 2, 3, ... by the server", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob", "carol"]);
    const members = [await chatClient(t, url, "alice"), await chatClient(t, url, "bob"), await chatClient(t, url, "carol")];
    for (const m of members) await m.client.join("lobby");
    const before = Date.now();
    // Two senders at once, each with many sends in flight: the server's order is the only order.
    const sends = await Promise.all([
      Promise.all(Array.from({ length: 60 }, (_, i) => members[0].client.send("lobby", `a${i}`))),
      Promise.all(Array.from({ length: 60 }, (_, i) => members[1].client.send("lobby", `b${i}`))),
    ]);
    const received = await Promise.all(members.map((m) => m.waitFor(120)));
    const order = received[0].map((m) => `${m.msgId}:${m.from}:${m.text}`);
    assert.deepEqual(received[0].map((m) => m.msgId), Array.from({ length: 120 }, (_, i) => i + 1));
    for (const r of received) assert.deepEqual(r.map((m) => `${m.msgId}:${m.from}:${m.text}`), order);
    for (const m of received[0]) {
      assert.equal(m.room, "lobby");
      assert.ok(m.ts >= before && m.ts <= Date.now());
    }
    // Each sender's own messages keep the order it sent them in, and the replies name their msgIds.
    assert.deepEqual(received[0].filter((m) => m.from === "alice").map((m) => m.text), Array.from({ length: 60 }, (_, i) => `a${i}`));
    const byText = new Map(received[0].map((m) => [m.text, m.msgId]));
    sends[0].forEach((reply, i) => assert.equal(reply.msgId, byText.get(`a${i}`)));
  });

  test("direct messages reach every client of the recipient and the sender's own, and nobody else", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob", "carol"]);
    const alice = await chatClient(t, url, "alice");
    const bob1 = await chatClient(t, url, "bob");
    const bob2 = await chatClient(t, url, "bob");
    const carol = await chatClient(t, url, "carol");
    for (const c of [alice, bob1, bob2, carol]) await c.client.rooms(); // any chat request makes a connection a chat client
    const sent = await alice.client.sendTo("bob", "psst");
    for (const c of [bob1, bob2, alice]) {
      const [m] = await c.waitFor(1);
      assert.deepEqual({ ...m, ts: 0 }, { to: "bob", from: "alice", msgId: sent.msgId, ts: 0, text: "psst" });
    }
    await bob1.client.sendTo("bob", "note to self");
    await bob2.waitFor(2);
    assert.equal(bob2.messages[1].msgId, sent.msgId + 1, "a recipient's direct messages are numbered in one sequence");
    assert.equal(carol.messages.length, 0);
    assert.equal(await codeOf(alice.client.sendTo("dave", "anyone?")), "E_USER_OFFLINE");
  });

  test("a retried send (same clientId) is answered with the original msgId and delivered once, even from another connection", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob"]);
    const alice = await chatClient(t, url, "alice");
    const bob = await chatClient(t, url, "bob");
    await alice.client.join("lobby");
    await bob.client.join("lobby");
    const first = await alice.client.send("lobby", "only once", "retry-1");
    const again = await alice.client.send("lobby", "only once", "retry-1");
    assert.equal(again.msgId, first.msgId);
    assert.equal(again.duplicate, true);
    // The reply was "lost" with the connection: the client reconnects and retries.
    const alice2 = await chatClient(t, url, "alice");
    await alice2.client.join("lobby");
    const third = await alice2.client.send("lobby", "only once", "retry-1");
    assert.equal(third.msgId, first.msgId);
    const next = await alice.client.send("lobby", "then another", "retry-2");
    assert.equal(next.msgId, first.msgId + 1);
    await bob.waitFor(2);
    assert.deepEqual(bob.messages.map((m) => m.text), ["only once", "then another"]);
  });

  test("joining with since replays exactly the missed messages before live ones; history pages through them", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob"], { history: 50 });
    const alice = await chatClient(t, url, "alice");
    await alice.client.join("news");
    for (let i = 1; i <= 70; i += 1) await alice.client.send("news", `n${i}`);
    const bob = await chatClient(t, url, "bob");
    const joined = await bob.client.join("news", { since: 65 });
    assert.equal(joined.lastMsgId, 70);
    assert.equal(joined.replayed, 5);
    await alice.client.send("news", "n71");
    const got = await bob.waitFor(6);
    assert.deepEqual(got.map((m) => [m.msgId, m.replay === true]), [[66, true], [67, true], [68, true], [69, true], [70, true], [71, false]]);
    const page = await bob.client.history("news", { since: 0, limit: 10 });
    assert.equal(page.messages[0].msgId, 22, "only the last 50 are kept");
    assert.equal(page.messages.length, 10);
    assert.equal(page.more, true);
    const before = await bob.client.history("news", { since: 60, before: 63 });
    assert.deepEqual(before.messages.map((m) => m.text), ["n61", "n62"]);
  });

  test("who, rooms, leave and presence events", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob"]);
    const alice = await chatClient(t, url, "alice");
    const bob = await chatClient(t, url, "bob");
    const seen: PresenceEvent[] = [];
    alice.client.on("presence", (p: PresenceEvent) => seen.push(p));
    await alice.client.join("lobby");
    await alice.client.join("dev");
    await bob.client.join("lobby");
    assert.deepEqual(await bob.client.who("lobby"), ["alice", "bob"]);
    assert.deepEqual(await bob.client.rooms(), [
      { room: "dev", members: 1, lastMsgId: 0 },
      { room: "lobby", members: 2, lastMsgId: 0 },
    ]);
    assert.equal(await bob.client.leave("lobby"), true);
    assert.equal(await bob.client.leave("lobby"), false);
    await eventually(() => seen.length === 2, "presence events");
    assert.deepEqual(seen, [
      { room: "lobby", user: "bob", action: "join" },
      { room: "lobby", user: "bob", action: "leave" },
    ]);
    bob.client.conn.destroy();
    assert.equal(await codeOf(bob.client.send("lobby", "x")), "E_CONNECTION_CLOSED");
    assert.deepEqual(await alice.client.who("lobby"), ["alice"]);
  });

  test("refusals: not logged in, not in the room, too large, not UTF-8, bad names; the connection stays usable", async (t) => {
    const { url } = await chatServer(t, ["alice"], { maxMessageBytes: 100 });
    const anon = await connect(url);
    t.after(() => anon.destroy());
    assert.equal(await codeOf(anon.request("chat.join", { room: "lobby" })), "E_AUTH");
    const alice = await chatClient(t, url, "alice");
    assert.equal(await codeOf(alice.client.send("lobby", "hi")), "E_NOT_IN_ROOM");
    await alice.client.join("lobby");
    const tooLarge = await alice.client.send("lobby", "x".repeat(101)).catch((err: { code: string; data: unknown }) => err);
    assert.equal((tooLarge as { code: string }).code, "E_MESSAGE_TOO_LARGE");
    assert.deepEqual((tooLarge as { data: unknown }).data, { maxBytes: 100, size: 101 });
    assert.equal(await codeOf(alice.client.conn.request("chat.send", { room: "lobby", clientId: "x" }, Buffer.from([0xff, 0xfe]))), "E_INVALID_PARAMS");
    assert.equal(await codeOf(alice.client.conn.request("chat.send", { room: "lobby" }, Buffer.from("no id"))), "E_INVALID_PARAMS");
    assert.equal(await codeOf(alice.client.join("../etc")), "E_INVALID_PARAMS");
    assert.equal(await codeOf(alice.client.conn.request("chat.send", { room: "lobby", to: "bob", clientId: "y" }, Buffer.from("both"))), "E_INVALID_PARAMS");
    assert.equal((await alice.client.send("lobby", "still fine")).msgId, 1);
  });

  test("rate limit: a burst passes, then E_RATE_LIMITED with retryAfterMs; other users are not affected", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob"], { rate: { rate: 2, burst: 5 } });
    const alice = await chatClient(t, url, "alice");
    const bob = await chatClient(t, url, "bob");
    await alice.client.join("lobby");
    await bob.client.join("lobby");
    for (let i = 0; i < 4; i += 1) await alice.client.send("lobby", `m${i}`); // the join took one token
    const refused = await alice.client.send("lobby", "one too many").catch((err: { code: string; data: { retryAfterMs: number } }) => err);
    assert.equal((refused as { code: string }).code, "E_RATE_LIMITED");
    const wait = (refused as { data: { retryAfterMs: number } }).data.retryAfterMs;
    assert.ok(wait > 0 && wait <= 500, `retryAfterMs ${wait}`);
    assert.equal((await bob.client.send("lobby", "bob is fine")).duplicate, false);
    await new Promise((resolve) => setTimeout(resolve, wait + 50));
    assert.equal((await alice.client.send("lobby", "after waiting")).duplicate, false);
  });

  test("a member that does not read is cut off with E_SLOW_CONSUMER while the others get every message", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob", "sloth"], { maxQueuedBytes: 256 * 1024, maxMessageBytes: 4096 });
    const alice = await chatClient(t, url, "alice");
    const bob = await chatClient(t, url, "bob");
    await alice.client.join("lobby");
    await bob.client.join("lobby");
    // The slow member: a raw socket that logs in, joins, and then stops reading.
    const sloth = await rawConnect(url);
    t.after(() => sloth.socket.destroy());
    sloth.socket.write(encodeFrame({ type: "auth", id: 1, user: "sloth", password: PASSWORD }));
    assert.equal((await sloth.nextFrame(10_000)).header.ok, true);
    sloth.socket.write(encodeFrame({ type: "chat.join", id: 2, room: "lobby" }));
    assert.equal((await sloth.nextFrame(10_000)).header.ok, true);
    sloth.socket.pause();
    const text = "z".repeat(4000);
    let sent = 0;
    let slothClosed = false;
    void sloth.closed.then(() => (slothClosed = true));
    // Kernel buffers take a few MB before the server's own queue grows; send until the server gives up on it.
    while (sent < 20_000) {
      await Promise.all(Array.from({ length: 50 }, () => alice.client.send("lobby", text)));
      sent += 50;
      const who = await alice.client.who("lobby");
      if (!who.includes("sloth")) break;
    }
    assert.ok(!(await alice.client.who("lobby")).includes("sloth"), "the slow member was dropped from the room");
    await Promise.all([alice.waitFor(sent, 60_000), bob.waitFor(sent, 60_000)]);
    assert.deepEqual(bob.messages.map((m) => m.msgId), Array.from({ length: sent }, (_, i) => i + 1), "the others missed nothing");
    sloth.socket.resume();
    await sloth.closed;
    const last = sloth.frames.at(-1);
    assert.equal(last?.header.fatal, true);
    assert.equal((last?.header.error as { code: string }).code, "E_SLOW_CONSUMER");
    assert.ok(slothClosed);
  });

  test("a client reconnects and rejoins with the last msgId it saw to get what it missed", async (t) => {
    const { url } = await chatServer(t, ["alice", "bob"]);
    const alice = await chatClient(t, url, "alice");
    const bob = await chatClient(t, url, "bob");
    await alice.client.join("lobby");
    await bob.client.join("lobby");
    await alice.client.send("lobby", "one");
    await bob.waitFor(1);
    const seen = [...bob.client.lastSeen];
    bob.client.conn.destroy();
    await alice.client.send("lobby", "two");
    await alice.client.send("lobby", "three");
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await login(conn, "bob", PASSWORD);
    const again = new ChatClient(conn);
    const texts: string[] = [];
    again.on("message", (m: { text: string }) => texts.push(m.text));
    await again.rejoin(seen);
    await alice.client.send("lobby", "four");
    await eventually(() => texts.length === 3, "missed and live messages");
    assert.deepEqual(texts, ["two", "three", "four"]);
  });
});
