import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import fc from "fast-check";
import { connect, udpRequest, type Connection } from "../../src/client/index.js";
import { decodeDatagram, encodeFrame, parseEndpoint } from "../../src/wire/index.js";
import { rawConnect, rawFrame } from "../helpers/raw.js";
import { startServer } from "../helpers/server.js";

/** A well-behaved client that must keep being served while others misbehave. */
async function bystander(url: string): Promise<Connection> {
  const conn = await connect(url);
  assert.equal((await conn.request("ping", {}, Buffer.from("before"))).body.toString(), "before");
  return conn;
}

async function stillServed(conn: Connection): Promise<void> {
  assert.equal((await conn.request("ping", {}, Buffer.from("after"), { timeout: 5_000 })).body.toString(), "after");
}

describe("hostile frames get an error frame and only their connection closes", () => {
  const cases: { name: string; bytes: Buffer; code: string; id: number | null }[] = [
    { name: "a header length above the limit", bytes: rawFrame("{}", Buffer.alloc(0), 70_000), code: "E_FRAME_TOO_LARGE", id: null },
    { name: "a header that is not JSON", bytes: rawFrame("{type: ping}"), code: "E_BAD_HEADER", id: null },
    { name: "a header that is not an object", bytes: rawFrame('["ping", 1]'), code: "E_BAD_HEADER", id: null },
    { name: "a header that is not UTF-8", bytes: Buffer.concat([Buffer.from("00000009", "hex"), Buffer.from('{"a":"'), Buffer.of(0xff), Buffer.from('"}')]), code: "E_BAD_HEADER", id: null },
    { name: "a negative size", bytes: rawFrame('{"type":"ping","id":7,"size":-3}'), code: "E_BAD_SIZE", id: 7 },
    { name: "a size that is a string", bytes: rawFrame('{"type":"ping","id":8,"size":"12"}'), code: "E_BAD_SIZE", id: 8 },
    { name: "a missing type", bytes: rawFrame('{"id":9}'), code: "E_BAD_HEADER", id: 9 },
    { name: "an empty type", bytes: rawFrame('{"type":"","id":10}'), code: "E_BAD_HEADER", id: 10 },
    { name: "a missing id", bytes: rawFrame('{"type":"ping"}'), code: "E_BAD_HEADER", id: null },
    { name: "a body size above the limit", bytes: rawFrame('{"type":"ping","id":11,"size":17000000}'), code: "E_FRAME_TOO_LARGE", id: 11 },
  ];
  for (const { name, bytes, code, id } of cases) {
    test(`${name}: ${code}`, async (t) => {
      const { url } = await startServer(t);
      const good = await bystander(url);
      t.after(() => good.destroy());
      const bad = await rawConnect(url);
      bad.socket.write(bytes);
      const frame = await bad.nextFrame();
      assert.equal(frame.header.ok, false);
      assert.equal(frame.header.fatal, true);
      assert.equal(frame.header.id, id);
      assert.equal((frame.header.error as { code: string }).code, code);
      await bad.closed;
      await stillServed(good);
    });
  }

  test("a body above the limit is refused before any of it is sent", async (t) => {
    const { url, server } = await startServer(t, { maxBodySize: 1024 });
    const bad = await rawConnect(url);
    bad.socket.write(rawFrame('{"type":"ping","id":1,"size":1025}'));
    const frame = await bad.nextFrame();
    assert.equal((frame.header.error as { code: string }).code, "E_FRAME_TOO_LARGE");
    await bad.closed;
    for (let i = 0; i < 100 && server.connectionCount > 0; i += 1) await sleep(20);
    assert.equal(server.connectionCount, 0);
  });

  test("an unknown type gets an error reply and the connection stays open", async (t) => {
    const { url } = await startServer(t);
    const peer = await rawConnect(url);
    t.after(() => peer.socket.destroy());
    peer.socket.write(Buffer.concat([encodeFrame({ type: "bogus", id: 1 }), encodeFrame({ type: "ping", id: 2 }, Buffer.from("x"))]));
    const first = await peer.nextFrame();
    assert.deepEqual(first.header, { id: 1, ok: false, error: { code: "E_UNKNOWN_TYPE", message: 'unknown request type "bogus"' } });
    const second = await peer.nextFrame();
    assert.equal(second.header.id, 2);
    assert.equal(second.body.toString(), "x");
    assert.equal(peer.socket.destroyed, false);
  });

  test("a connection that ends in the middle of a frame is dropped quietly", async (t) => {
    const { url, server } = await startServer(t);
    const good = await bystander(url);
    t.after(() => good.destroy());
    const bad = await rawConnect(url);
    bad.socket.end(encodeFrame({ type: "ping", id: 1 }, Buffer.alloc(100)).subarray(0, 50));
    await bad.closed;
    await stillServed(good);
    for (let i = 0; i < 100 && server.connectionCount > 1; i += 1) await sleep(20);
    assert.equal(server.connectionCount, 1);
  });
});

describe("hostile peers", () => {
  test("a peer that stops reading its replies is paused, not buffered for", async (t) => {
    const { url, server } = await startServer(t);
    const good = await bystander(url);
    t.after(() => good.destroy());
    const greedy = await rawConnect(url);
    t.after(() => greedy.socket.destroy());
    greedy.socket.pause(); // never read a reply
    const frame = encodeFrame({ type: "ping", id: 1 }, Buffer.alloc(64 * 1024, 1));
    let written = 0;
    // Write until our own socket refuses more for a while: by then the server must have stopped reading.
    for (let stalls = 0; stalls < 20 && written < 256 * 1024 * 1024; ) {
      if (greedy.socket.write(frame)) {
        written += frame.length;
      } else {
        written += frame.length;
        const drained = await Promise.race([once(greedy.socket, "drain").then(() => true), sleep(100).then(() => false)]);
        if (!drained) stalls += 1;
      }
    }
    const info = server.connections().find((c) => c.peer.port === greedy.socket.localPort);
    assert.ok(info !== undefined);
    assert.equal(info.paused, true, "the server stopped reading from the peer");
    assert.ok(info.bufferedOut < 4 * 1024 * 1024, `server holds ${info.bufferedOut} bytes of unread replies`);
    assert.ok(written > 8 * 1024 * 1024, `the peer could write ${written} bytes before being stopped`);
    await stillServed(good);
  });

  test("an idle connection is closed with E_IDLE_TIMEOUT", async (t) => {
    const { url } = await startServer(t, { idleTimeout: 300 });
    const good = await bystander(url);
    t.after(() => good.destroy());
    const idle = await rawConnect(url);
    const frame = await idle.nextFrame(5_000);
    assert.equal((frame.header.error as { code: string }).code, "E_IDLE_TIMEOUT");
    assert.equal(frame.header.id, null);
    await idle.closed;
  });

  test("a header trickled in too slowly is cut off (slow-loris)", async (t) => {
    const { url } = await startServer(t, { idleTimeout: 60_000, headerTimeout: 400 });
    const slow = await rawConnect(url);
    const bytes = encodeFrame({ type: "ping", id: 1 });
    let closedAfter = -1;
    for (let i = 0; i < bytes.length; i += 1) {
      if (slow.socket.destroyed || slow.frames.length > 0) {
        closedAfter = i;
        break;
      }
      slow.socket.write(bytes.subarray(i, i + 1));
      await sleep(100);
    }
    const frame = await slow.nextFrame(5_000);
    assert.equal((frame.header.error as { code: string }).code, "E_IDLE_TIMEOUT");
    assert.ok(closedAfter > 0 && closedAfter < bytes.length, "the frame was never completed");
  });

  test("the connection limit holds: one more gets E_TOO_MANY_CONNECTIONS, the others are served", async (t) => {
    const { url } = await startServer(t, { maxConnections: 2 });
    const first = await bystander(url);
    const second = await bystander(url);
    t.after(() => {
      first.destroy();
      second.destroy();
    });
    const third = await rawConnect(url);
    const frame = await third.nextFrame();
    assert.equal((frame.header.error as { code: string }).code, "E_TOO_MANY_CONNECTIONS");
    await third.closed;
    await stillServed(first);
    await stillServed(second);
  });

  test("arbitrary garbage on many connections never stops the server", async (t) => {
    // idleTimeout is long: the bystander sits idle while the garbage runs, which takes seconds on a loaded machine.
    const { url } = await startServer(t, { maxHeaderSize: 1024, maxBodySize: 4096, headerTimeout: 500, idleTimeout: 60_000 });
    const good = await bystander(url);
    t.after(() => good.destroy());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 5 }), async (chunks) => {
        const peer = await rawConnect(url);
        for (const chunk of chunks) peer.socket.write(chunk);
        peer.socket.end();
        await peer.closed;
      }),
      { numRuns: 40 },
    );
    await stillServed(good);
  });
});

describe("hostile datagrams", () => {
  test("malformed datagrams never stop the UDP service; those with an id get an error reply no larger than 3x theirs", async (t) => {
    const { udpUrl, server } = await startServer(t);
    const endpoint = parseEndpoint(udpUrl) as { host: string; port: number };
    const socket = createSocket("udp4");
    t.after(() => socket.close());
    const replies: Buffer[] = [];
    socket.on("message", (msg) => replies.push(msg));
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const garbage = [
      Buffer.from([1]),
      Buffer.from("not a frame at all"),
      Buffer.from("ffffffff00", "hex"),
      rawFrame("{oops"),
      rawFrame('{"type":"ping"}'),
      encodeFrame({ type: "ping", id: 3 }, Buffer.from("abc")).subarray(0, -1),
      rawFrame('{"id":4}'),
      encodeFrame({ type: "nope", id: 5 }),
    ];
    for (const datagram of garbage) socket.send(datagram, endpoint.port, endpoint.host);
    const reply = await udpRequest(udpUrl, "ping", {}, Buffer.from("alive"));
    assert.equal(reply.body.toString(), "alive");
    await sleep(100);
    const errors = replies.map((msg) => decodeDatagram(msg).header).sort((a, b) => Number(a.id) - Number(b.id));
    // The 12-byte {"id":4} cannot be answered at all: even a bare error frame is more than 3x its size.
    assert.deepEqual(
      errors.map((h) => [h.id, (h.error as { code: string }).code]),
      [
        [3, "E_BAD_SIZE"],
        [5, "E_UNKNOWN_TYPE"],
      ],
    );
    const sizes = new Map(garbage.map((d) => [d, d.length]));
    for (const msg of replies) {
      const id = decodeDatagram(msg).header.id;
      const request = id === 3 ? garbage[5] : garbage[7];
      assert.ok(msg.length <= 3 * (sizes.get(request) ?? 0), `reply to ${String(id)} is ${msg.length} bytes`);
    }
    assert.equal(server.addresses.length, 2);
  });
});
