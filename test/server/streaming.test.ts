import assert from "node:assert/strict";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { connect, udpRequest, WharfError } from "../../src/client/index.js";
import type { ConnectionChannel } from "../../src/server/index.js";
import { encodeEvent, type ReplyHeader } from "../../src/wire/index.js";
import { startServer } from "../helpers/server.js";

describe("streamed replies and events", () => {
  test("intermediate frames arrive in order through onFrame before the final reply", async (t) => {
    const { url } = await startServer(t, {}, (server) => {
      server.handle("count", async (header, _body, ctx) => {
        for (let n = 0; n < Number(header.to); n += 1) await ctx.send({ n }, Buffer.from(`chunk ${n}`));
        return { header: { total: header.to } };
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const seen: string[] = [];
    const reply = await conn.request("count", { to: 100 }, undefined, {
      onFrame: (header, body) => {
        assert.equal(header.more, true);
        seen.push(`${String(header.n)}:${body.toString()}`);
      },
    });
    assert.equal(reply.header.total, 100);
    assert.equal(reply.header.more, undefined);
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, n) => `${n}:chunk ${n}`));
  });

  test("a slow onFrame consumer holds the producer back instead of being buffered for", async (t) => {
    let produced = 0;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("flood", async (_header, _body, ctx) => {
        const chunk = Buffer.alloc(64 * 1024);
        for (produced = 0; produced < 2000; produced += 1) await ctx.send({}, chunk);
        return {};
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    let consumed = 0;
    const done = conn.request("flood", {}, undefined, {
      onFrame: async () => {
        consumed += 1;
        if (consumed === 10) await sleep(500);
      },
    });
    await sleep(400);
    // While the consumer sleeps, the server can run ahead by no more than socket buffers hold (a few MiB).
    assert.ok(produced - consumed < 200, `produced ${produced}, consumed ${consumed}`);
    await done;
    assert.equal(consumed, 2000);
  });

  test("a handler's send() rejects once the client cancels", async (t) => {
    let failure: unknown;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("endless", async (_header, _body, ctx) => {
        try {
          for (;;) {
            await ctx.send({ tick: true });
            await sleep(5);
          }
        } catch (err) {
          failure = err;
          throw err;
        }
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await assert.rejects(conn.request("endless", {}, undefined, { timeout: 100 }), { code: "E_TIMEOUT" });
    for (let i = 0; i < 100 && failure === undefined; i += 1) await sleep(10);
    assert.ok(failure instanceof WharfError);
    assert.equal(failure.code, "E_CANCELLED");
  });

  test("a connection channel pushes events and can close the connection with a code", async (t) => {
    let channel: ConnectionChannel | null = null;
    let closedSeen = false;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("subscribe", (_header, _body, ctx) => {
        channel = ctx.channel;
        ctx.channel?.onClose(() => (closedSeen = true));
        return {};
      });
    });
    const conn = await connect(url);
    const events: [ReplyHeader, string][] = [];
    conn.on("event", (header: ReplyHeader, body: Buffer) => events.push([header, body.toString()]));
    await conn.request("subscribe");
    assert.ok(channel !== null);
    const ch = channel as ConnectionChannel;
    assert.equal(ch.sendEvent("news", { seq: 1 }, Buffer.from("hello")), true);
    await conn.request("ping");
    assert.deepEqual(events, [[{ seq: 1, event: "news", size: 5 }, "hello"]]);
    const closed = once(conn, "close");
    ch.close(new WharfError("E_SLOW_CONSUMER", "you read too slowly"));
    const [reason] = await closed;
    assert.ok(reason instanceof WharfError);
    assert.equal(reason.code, "E_SLOW_CONSUMER");
    for (let i = 0; i < 100 && !closedSeen; i += 1) await sleep(10);
    assert.equal(closedSeen, true);
    assert.equal(ch.sendEvent("late"), false);
  });

  test("one encoded event frame can be sent to many connections", async (t) => {
    const channels: ConnectionChannel[] = [];
    const { url } = await startServer(t, {}, (server) => {
      server.handle("subscribe", (_header, _body, ctx) => {
        if (ctx.channel !== null) channels.push(ctx.channel);
      });
    });
    const conns = await Promise.all([connect(url), connect(url), connect(url)]);
    t.after(() => conns.forEach((conn) => conn.destroy()));
    const received = conns.map(() => [] as string[]);
    conns.forEach((conn, i) => conn.on("event", (header: ReplyHeader, body: Buffer) => received[i].push(`${String(header.event)}:${String(header.n)}:${body.toString()}`)));
    await Promise.all(conns.map((conn) => conn.request("subscribe")));
    const parts = encodeEvent("tick", { n: 7 }, Buffer.from("shared"));
    for (const channel of channels) assert.equal(channel.sendFrame(parts), true);
    await Promise.all(conns.map((conn) => conn.request("ping")));
    assert.deepEqual(received, [["tick:7:shared"], ["tick:7:shared"], ["tick:7:shared"]]);
  });

  test("events sent in one tick arrive in order, before a reply and an error frame written after them", async (t) => {
    let channel: ConnectionChannel | null = null;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("subscribe", (_header, _body, ctx) => {
        channel = ctx.channel;
      });
      server.handle("burst", (header, _body, ctx) => {
        // Sent to the requesting connection and to the subscriber, all in this tick.
        for (let n = 0; n < 200; n += 1) {
          ctx.channel?.sendEvent("n", { n });
          channel?.sendEvent("n", { n });
        }
        if (header.close === true) channel?.close(new WharfError("E_SLOW_CONSUMER", "closed after the burst"));
        return { header: { done: true } };
      });
    });
    const subscriber = await connect(url);
    const sender = await connect(url);
    t.after(() => [subscriber, sender].forEach((conn) => conn.destroy()));
    const seen = { subscriber: [] as number[], sender: [] as number[] };
    subscriber.on("event", (header: ReplyHeader) => seen.subscriber.push(header.n as number));
    sender.on("event", (header: ReplyHeader) => seen.sender.push(header.n as number));
    await subscriber.request("subscribe");
    const expected = Array.from({ length: 200 }, (_, n) => n);

    const reply = await sender.request("burst");
    assert.equal(reply.header.done, true);
    assert.deepEqual(seen.sender, expected, "every event of the tick came before the reply, in order");
    await subscriber.request("ping");
    assert.deepEqual(seen.subscriber, expected);

    seen.subscriber = [];
    seen.sender = [];
    const closed = once(subscriber, "close");
    await sender.request("burst", { close: true });
    const [reason] = await closed;
    assert.equal((reason as WharfError).code, "E_SLOW_CONSUMER");
    assert.deepEqual(seen.subscriber, expected, "the events queued before the close were not lost");
  });

  test("send() over UDP is refused", async (t) => {
    const { udpUrl } = await startServer(t, {}, (server) => {
      server.handle("stream", async (_header, _body, ctx) => {
        await ctx.send({});
        return {};
      });
    });
    await assert.rejects(udpRequest(udpUrl, "stream"), { code: "E_UNKNOWN_TYPE" });
  });
});
