import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { describe, test } from "node:test";
import { connect, udpRequest } from "../../src/client/index.js";
import type { DatagramSender } from "../../src/server/index.js";
import { decodeDatagram, WharfError } from "../../src/wire/index.js";
import { startServer } from "../helpers/server.js";

describe("ctx.udp: sending datagrams to other peers", () => {
  test("a handler keeps the endpoint and later sends a frame to a third address from the server's port", async (t) => {
    let kept: DatagramSender | null = null;
    const { server, url, udpUrl } = await startServer(t, {}, (s) => {
      s.handle("subscribe", (header, _body, ctx) => {
        kept = ctx.udp;
        return { header: { stream: ctx.channel === null, udp: ctx.udp !== null, port: header.port } };
      });
    });
    const watcher = createSocket("udp4");
    t.after(() => watcher.close());
    watcher.bind(0, "127.0.0.1");
    await once(watcher, "listening");

    const conn = await connect(url);
    t.after(() => conn.destroy());
    assert.equal((await conn.request("subscribe")).header.udp, false, "no udp endpoint on a stream connection");

    const reply = await udpRequest(udpUrl, "subscribe", { port: watcher.address().port });
    assert.equal(reply.header.udp, true);
    const sender = kept as DatagramSender | null;
    assert.ok(sender !== null);
    const arrived = once(watcher, "message");
    assert.equal(sender.sendDatagram({ event: "news", n: 1 }, Buffer.from("hello"), "127.0.0.1", watcher.address().port), true);
    const [msg, rinfo] = (await arrived) as [Buffer, { port: number }];
    const frame = decodeDatagram(msg);
    assert.deepEqual(frame.header, { event: "news", n: 1, size: 5 });
    assert.equal(frame.body.toString(), "hello");
    assert.equal(rinfo.port, Number(new URL(udpUrl).port), "sent from the endpoint's own socket");

    assert.throws(() => sender.sendDatagram({ event: "big" }, Buffer.alloc(70_000), "127.0.0.1", 9), (err: unknown) => err instanceof WharfError && err.code === "E_FRAME_TOO_LARGE");
    await server.close();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sender.closed, true);
    assert.equal(sender.sendDatagram({ event: "late" }, undefined, "127.0.0.1", watcher.address().port), false, "nothing is sent after shutdown");
  });
});
