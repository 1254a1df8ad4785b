import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { describe, test } from "node:test";
import { udpRequest } from "../../../src/client/index.js";
import { UdpChatClient, type GapEvent, type ReceivedMessage } from "../../../src/services/chat/index.js";
import { decodeDatagram, encodeDatagram } from "../../../src/wire/index.js";
import { chatClient, chatServer, codeOf, eventually } from "./helpers.js";
import { lossyProxy } from "./udp-proxy.js";

/** A UDP chat client that records what it receives. */
async function udpMember(t: { after: (fn: () => unknown) => void }, url: string, nick: string, options = {}) {
  const client = await UdpChatClient.open(url, nick, { timeout: 300, ...options });
  t.after(() => client.close());
  const messages: ReceivedMessage[] = [];
  const gaps: GapEvent[] = [];
  client.on("message", (m: ReceivedMessage) => messages.push(m));
  client.on("gap", (g: GapEvent) => gaps.push(g));
  return { client, messages, gaps };
}

describe("chat over UDP", () => {
  test("datagram guests and logged-in users share a room; the server relays to every member's address", async (t) => {
    const { url, udpUrl } = await chatServer(t, ["alice"]);
    const alice = await chatClient(t, url, "alice");
    await alice.client.join("lobby");
    const bob = await udpMember(t, udpUrl, "bob");
    const carol = await udpMember(t, udpUrl, "carol");
    assert.deepEqual(await bob.client.join("lobby"), { lastMsgId: 0, memberCount: 2 });
    await carol.client.join("lobby");
    assert.deepEqual(await bob.client.who("lobby"), ["alice", "~bob", "~carol"]);
    const sent = await bob.client.send("lobby", "hello from udp");
    assert.deepEqual(sent, { msgId: 1, seq: 1, duplicate: false });
    await alice.client.send("lobby", "hello from tcp");
    const [a1] = await alice.waitFor(2);
    assert.deepEqual({ ...a1, ts: 0 }, { room: "lobby", from: "~bob", msgId: 1, ts: 0, text: "hello from udp", seq: 1 });
    for (const member of [bob, carol]) {
      await eventually(() => member.messages.length === 2, "relayed datagrams");
      assert.deepEqual(member.messages.map((m) => [m.msgId, m.from, m.text, m.seq]), [
        [1, "~bob", "hello from udp", 1],
        [2, "alice", "hello from tcp", undefined],
      ]);
    }
    // Direct messages cross transports too.
    await alice.client.sendTo("~carol", "hi carol");
    await eventually(() => carol.messages.length === 3, "a direct message over udp");
    assert.equal(carol.messages[2].to, "~carol");
    await carol.client.sendTo("alice", "hi alice");
    await alice.waitFor(4);
    assert.equal(alice.messages[3].from, "~carol");
  });

  test("a repeated datagram (same seq) is answered with the original msgId and relayed once", async (t) => {
    const { url, udpUrl } = await chatServer(t, ["alice"]);
    const alice = await chatClient(t, url, "alice");
    await alice.client.join("lobby");
    const bob = await udpMember(t, udpUrl, "bob");
    await bob.client.join("lobby");
    const first = await bob.client.request("chat.send", { room: "lobby", seq: 7 }, Buffer.from("once"));
    const repeat = await bob.client.request("chat.send", { room: "lobby", seq: 7 }, Buffer.from("once"));
    assert.equal(repeat.header.msgId, first.header.msgId);
    assert.equal(repeat.header.duplicate, true);
    await bob.client.request("chat.send", { room: "lobby", seq: 8 }, Buffer.from("twice?"));
    await alice.waitFor(2);
    assert.deepEqual(alice.messages.map((m) => m.text), ["once", "twice?"]);
    assert.equal(await codeOf(bob.client.request("chat.send", { room: "lobby" }, Buffer.from("no seq"))), "E_INVALID_PARAMS");
    assert.equal(await bob.client.leave("lobby"), true);
    assert.equal(await codeOf(bob.client.request("chat.udp.keepalive", {})), "E_AUTH", "a guest in no room is forgotten");
  });

  test("a lost reply is retried without a second delivery; a lost relay shows as a gap and is recovered from history", async (t) => {
    const { url, udpUrl } = await chatServer(t, ["alice"]);
    const alice = await chatClient(t, url, "alice");
    await alice.client.join("lobby");
    const proxy = await lossyProxy(udpUrl);
    t.after(() => proxy.close());
    const bob = await udpMember(t, proxy.url, "bob");
    await bob.client.join("lobby");

    // The network loses the server's first reply to bob's send: bob retries (same id, same seq).
    let repliesLost = 0;
    proxy.drop.toClient = (h) => h.ok === true && typeof h.msgId === "number" && repliesLost++ === 0;
    const sent = await bob.client.send("lobby", "did you get this?");
    assert.equal(sent.duplicate, true, "the retry was recognised by its seq");
    await alice.waitFor(1);

    // The network loses one relayed message to bob.
    proxy.drop.toClient = (h) => h.event === "chat.message" && h.msgId === 3;
    for (const text of ["two", "three", "four"]) await alice.client.send("lobby", text);
    await eventually(() => bob.messages.length === 4, "three relayed and one recovered");
    assert.deepEqual(bob.gaps, [{ room: "lobby", first: 3, last: 3 }]);
    assert.deepEqual(
      bob.messages.map((m) => [m.msgId, m.text, m.recovered === true]),
      [[1, "did you get this?", false], [2, "two", false], [4, "four", false], [3, "three", true]],
    );
    await alice.waitFor(4);
    assert.deepEqual(alice.messages.map((m) => m.msgId), [1, 2, 3, 4], "nothing was delivered twice");
    assert.equal(proxy.dropped.length, 2);
  });

  test("the receiver drops duplicated relays", async (t) => {
    const { url, udpUrl } = await chatServer(t, ["alice"]);
    const alice = await chatClient(t, url, "alice");
    await alice.client.join("lobby");
    const bob = await udpMember(t, udpUrl, "bob");
    await bob.client.join("lobby");
    await alice.client.send("lobby", "one");
    await eventually(() => bob.messages.length === 1, "first relay");
    // Replay the same relay datagram at bob's socket, as a duplicating network would.
    const dup = createSocket("udp4");
    t.after(() => dup.close());
    const frame = encodeDatagram({ event: "chat.message", room: "lobby", from: "alice", msgId: 1, ts: 1 }, Buffer.from("one"));
    dup.send(frame, bob.client.port, "127.0.0.1");
    await alice.client.send("lobby", "two");
    await eventually(() => bob.messages.length === 2, "second relay");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(bob.messages.map((m) => m.text), ["one", "two"]);
    assert.deepEqual(bob.gaps, []);
  });

  test("joining needs the cookie of the source address, so a forged source cannot subscribe a victim", async (t) => {
    const { udpUrl } = await chatServer(t, []);
    const first = await udpRequest(udpUrl, "chat.udp.join", { room: "lobby", user: "mallory" });
    assert.equal(first.header.joined, false);
    assert.equal(typeof first.header.cookie, "string");
    // udpRequest uses a new socket (a new port) per call: the cookie of another address is refused.
    const forged = await udpRequest(udpUrl, "chat.udp.join", { room: "lobby", user: "mallory", cookie: first.header.cookie });
    assert.equal(forged.header.joined, false);
    assert.equal(await codeOf(udpRequest(udpUrl, "chat.send", { room: "lobby", seq: 1 }, Buffer.from("x"))), "E_AUTH");
    assert.equal(await codeOf(udpRequest(udpUrl, "chat.history", { room: "lobby" })), "E_AUTH", "no history for unverified addresses");
    assert.equal(await codeOf(udpRequest(udpUrl, "chat.udp.join", { room: "lobby", user: "bad name!" })), "E_INVALID_PARAMS");
  });

  test("a silent datagram member is forgotten after the timeout; keepalives keep a member in", async (t) => {
    const { url, udpUrl } = await chatServer(t, ["alice"], { udpTimeout: 400 });
    const alice = await chatClient(t, url, "alice");
    await alice.client.join("lobby");
    const talker = await udpMember(t, udpUrl, "talker", { keepalive: 100 });
    await talker.client.join("lobby");
    const raw = createSocket("udp4");
    t.after(() => raw.close());
    raw.bind(0, "127.0.0.1");
    await once(raw, "listening");
    const ask = async (fields: Record<string, unknown>): Promise<Record<string, unknown>> => {
      raw.send(encodeDatagram({ type: "chat.udp.join", id: Math.floor(Math.random() * 1e9), room: "lobby", user: "mute", ...fields }), Number(new URL(udpUrl).port), "127.0.0.1");
      const [msg] = (await once(raw, "message")) as [Buffer];
      return decodeDatagram(msg).header;
    };
    const { cookie } = await ask({});
    assert.equal((await ask({ cookie })).joined, true);
    assert.deepEqual(await alice.client.who("lobby"), ["alice", "~mute", "~talker"]);
    await eventually(async () => !(await alice.client.who("lobby")).includes("~mute"), "the silent member to be dropped", 5_000);
    assert.ok((await alice.client.who("lobby")).includes("~talker"));
  });
});
