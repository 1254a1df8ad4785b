import assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import fc from "fast-check";
import { DatagramClient, MAX_USEFUL_PADDING, padDatagram } from "../../src/client/index.js";
import { CHAT_REQUEST_SIZE, UdpChatClient } from "../../src/services/chat/udp-client.js";
import { TIME_REQUEST_SIZE } from "../../src/services/time/client.js";
import { queryTime, registerTime } from "../../src/services/time/index.js";
import { MAX_DATAGRAM_SIZE, decodeDatagram, encodeDatagram } from "../../src/wire/index.js";
import { startServer } from "../helpers/server.js";
import { chatServer, eventually } from "../services/chat/helpers.js";
import { amplificationRelay, type Exchange } from "./amplification-relay.js";

async function relayTo(t: TestContext, udpUrl: string) {
  const relay = await amplificationRelay(udpUrl);
  t.after(() => relay.close());
  return relay;
}

/** Per request type: the largest reply and the largest reply/request ratio seen. */
function summary(exchanges: Exchange[]): Record<string, { requests: number; maxReply: number; maxRatio: number }> {
  const out: Record<string, { requests: number; maxReply: number; maxRatio: number }> = {};
  for (const e of exchanges) {
    const row = (out[e.type] ??= { requests: 0, maxReply: 0, maxRatio: 0 });
    row.requests += 1;
    row.maxReply = Math.max(row.maxReply, e.replySize);
    row.maxRatio = Math.max(row.maxRatio, Math.round((e.replySize / e.requestSize) * 100) / 100);
  }
  return out;
}

describe("request padding for the 3x rule of UDP replies", () => {
  test("padDatagram() grows the header with whitespace only: the frame decodes to the same header and body", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 70_000 }),
        (fields, body, minSize) => {
          const header = { ...fields, type: "t", id: 1 };
          const datagram = encodeDatagram(header, body);
          const copy = Buffer.from(datagram);
          const padded = padDatagram(datagram, minSize);
          assert.equal(padded.length, Math.max(datagram.length, Math.min(minSize, MAX_DATAGRAM_SIZE)));
          assert.deepEqual(decodeDatagram(padded), decodeDatagram(datagram));
          assert.deepEqual(datagram, copy, "the original is left as it was");
        },
      ),
    );
    assert.equal(MAX_USEFUL_PADDING * 3 >= MAX_DATAGRAM_SIZE, true, "a request of that size lets any datagram back");
  });

  test("the time client pads each request so that its reply is well within 3x of it", async (t) => {
    const { udpUrl } = await startServer(t, {}, (server) => registerTime(server));
    const relay = await relayTo(t, udpUrl);
    const result = await queryTime(relay.url, { samples: 4, interval: 0 });
    assert.equal(result.answered, 4);
    const times = relay.exchanges.filter((e) => e.type === "time");
    assert.equal(times.length, 4);
    for (const e of times) {
      assert.equal(e.requestSize, TIME_REQUEST_SIZE);
      assert.equal(e.refused, false);
      assert.ok(e.replySize <= 2 * e.requestSize, `a ${e.replySize}-byte reply leaves headroom within 3x of ${e.requestSize}`);
    }
    t.diagnostic(`time over udp: ${JSON.stringify(summary(times))}`);
  });

  test("the UDP chat client's join, send, who, rooms, history, keepalive and leave replies all pass the rule", async (t) => {
    const { udpUrl } = await chatServer(t, []);
    const relay = await relayTo(t, udpUrl);
    const bob = await UdpChatClient.open(relay.url, "b".repeat(32), { keepalive: 30, timeout: 2_000 });
    t.after(() => bob.close());
    const rooms = ["lobby", ...Array.from({ length: 20 }, (_, i) => `r${i}-${"x".repeat(60)}`)];
    for (const room of rooms) await bob.join(room);
    // The longest messages, some of them characters that JSON escapes to six bytes.
    for (let i = 0; i < 12; i += 1) await bob.send("lobby", i % 2 === 0 ? "m".repeat(4096) : "\u0001".repeat(4096));
    await bob.send("lobby", "short");
    const { messages } = await bob.history("lobby");
    assert.ok(messages.length >= 4, `a history of ${messages.length} messages`);
    assert.ok((await bob.who("lobby")).includes(`~${"b".repeat(32)}`));
    assert.equal((await bob.rooms()).length, rooms.length);
    await assert.rejects(bob.send("elsewhere", "x"), { code: "E_NOT_IN_ROOM" });
    await eventually(() => relay.exchanges.some((e) => e.type === "chat.udp.keepalive"), "a keepalive");
    assert.equal(await bob.leave("lobby"), true);
    const byType = summary(relay.exchanges);
    t.diagnostic(`chat over udp: ${JSON.stringify(byType)}`);
    for (const type of ["chat.udp.join", "chat.send", "chat.history", "chat.who", "chat.rooms", "chat.udp.keepalive", "chat.leave"]) {
      assert.ok(byType[type] !== undefined, `${type} was measured`);
    }
    assert.deepEqual(relay.exchanges.filter((e) => e.refused), [], "no reply was over 3x its request");
    for (const e of relay.exchanges) assert.ok(e.requestSize >= CHAT_REQUEST_SIZE);
    assert.ok(byType["chat.history"].maxReply > 3 * CHAT_REQUEST_SIZE, "history needed more than the base padding");
  });

  test("an unpadded history request is answered E_USE_STREAM by the server, and asked again padded it is answered", async (t) => {
    const { udpUrl } = await chatServer(t, []);
    const relay = await relayTo(t, udpUrl);
    const client = await DatagramClient.open(relay.url, { padOnUseStream: false });
    t.after(() => client.close());
    const first = await client.request("chat.udp.join", { room: "lobby", user: "eve" });
    assert.equal((await client.request("chat.udp.join", { room: "lobby", user: "eve", cookie: first.header.cookie })).header.joined, true);
    for (let i = 0; i < 3; i += 1) await client.request("chat.send", { room: "lobby", seq: i + 1 }, Buffer.from("y".repeat(400)));
    await assert.rejects(client.request("chat.history", { room: "lobby" }), { code: "E_USE_STREAM" });
    const padded = await client.request("chat.history", { room: "lobby" }, undefined, { minRequestSize: MAX_USEFUL_PADDING });
    assert.equal(padded.header.count, 3);
    const history = relay.exchanges.filter((e) => e.type === "chat.history");
    // The server applies the rule itself: its E_USE_STREAM answer is small, so the relay has nothing to refuse.
    assert.deepEqual(history.map((e) => e.refused), [false, false]);
  });
});
