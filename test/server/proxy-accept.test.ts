import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { FrameDecoder, encodeFrame, type FrameHeader } from "../../src/wire/index.js";
import { startServer } from "../helpers/server.js";
import { proxyV1, proxyV2 } from "../helpers/proxy-header.js";

/** A raw socket from `localAddress` that collects frames: plays a balancer (or a client that skips it). */
async function rawFrom(url: string, localAddress = "127.0.0.1"): Promise<{ socket: Socket; frames: FrameHeader[]; closed: Promise<void>; next(): Promise<FrameHeader> }> {
  const { hostname, port } = new URL(url);
  const socket = netConnect({ host: hostname, port: Number(port), localAddress });
  await once(socket, "connect");
  const frames: FrameHeader[] = [];
  const decoder = new FrameDecoder({ onFrame: (header) => void frames.push(header) });
  socket.on("data", (chunk: Buffer) => decoder.push(chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  let taken = 0;
  return {
    socket,
    frames,
    closed,
    async next() {
      const deadline = Date.now() + 5_000;
      while (taken >= frames.length) {
        if (Date.now() > deadline) throw new Error("no frame in time");
        await sleep(10);
      }
      return frames[taken++]!;
    },
  };
}

const whoami = (server: import("../../src/server/index.js").Server): void => {
  server.handle("whoami", (_header, _body, ctx) => ({ header: { address: ctx.peer.address, port: ctx.peer.port, family: ctx.peer.family } }));
};

describe("Server with proxyProtocol", () => {
  for (const [name, header] of [
    ["v1", proxyV1("203.0.113.7", "198.51.100.1", 40_001, 9000)],
    ["v2", proxyV2("203.0.113.7", "198.51.100.1", 40_001, 9000)],
  ] as const) {
    test(`a ${name} header from a trusted balancer makes the client's address the peer's`, async (t) => {
      const { url } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.1"] } }, whoami);
      const peer = await rawFrom(url);
      t.after(() => peer.socket.destroy());
      // Header and first frame in one write: the bytes after the header must reach the decoder.
      peer.socket.write(Buffer.concat([header, encodeFrame({ type: "whoami", id: 1 })]));
      const reply = await peer.next();
      assert.equal(reply.ok, true);
      assert.deepEqual({ address: reply.address, port: reply.port, family: reply.family }, { address: "203.0.113.7", port: 40_001, family: "IPv4" });
      peer.socket.write(encodeFrame({ type: "whoami", id: 2 }));
      assert.equal((await peer.next()).address, "203.0.113.7");
    });
  }

  test("an IPv6 client behind the balancer", async (t) => {
    const { url } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.0/8"] } }, whoami);
    const peer = await rawFrom(url);
    t.after(() => peer.socket.destroy());
    peer.socket.write(proxyV2("2001:db8::5", "2001:db8::1", 5, 9000));
    await sleep(20);
    peer.socket.write(encodeFrame({ type: "whoami", id: 1 }));
    const reply = await peer.next();
    assert.deepEqual({ address: reply.address, family: reply.family }, { address: "2001:db8::5", family: "IPv6" });
  });

  test("a v2 LOCAL header keeps the balancer's own address", async (t) => {
    const { url } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.1"] } }, whoami);
    const peer = await rawFrom(url);
    t.after(() => peer.socket.destroy());
    peer.socket.write(Buffer.concat([proxyV2("1.2.3.4", "1.2.3.5", 1, 2, { local: true }), encodeFrame({ type: "whoami", id: 1 })]));
    assert.equal((await peer.next()).address, "127.0.0.1");
  });

  test("a connection from an untrusted address gets E_PROXY_HEADER and a close, even with a valid header", async (t) => {
    const { url, server } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.1"] } }, whoami);
    const peer = await rawFrom(url, "127.0.0.2");
    peer.socket.write(Buffer.concat([proxyV2("203.0.113.7", "198.51.100.1", 1, 2), encodeFrame({ type: "whoami", id: 1 })]));
    const frame = await peer.next();
    assert.equal(frame.fatal, true);
    assert.equal((frame.error as { code: string }).code, "E_PROXY_HEADER");
    assert.match((frame.error as { message: string }).message, /127\.0\.0\.2 is not a trusted proxy/);
    await peer.closed;
    assert.equal(server.connectionCount, 0);
  });

  test("a trusted address that skips the header (a wharf frame first) gets E_PROXY_HEADER", async (t) => {
    const { url } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.1"] } }, whoami);
    const peer = await rawFrom(url);
    peer.socket.write(encodeFrame({ type: "whoami", id: 1 }));
    const frame = await peer.next();
    assert.equal((frame.error as { code: string }).code, "E_PROXY_HEADER");
    await peer.closed;
  });

  test("a header that trickles past headerTimeout gets E_PROXY_HEADER", async (t) => {
    const { url } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.1"] }, headerTimeout: 300 }, whoami);
    const peer = await rawFrom(url);
    peer.socket.write("PROXY TCP4 ");
    const frame = await peer.next();
    assert.match((frame.error as { message: string }).message, /in time/);
    await peer.closed;
  });

  test("close() ends connections still sending their header", async (t) => {
    const { url, server } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.1"] } }, whoami);
    const peer = await rawFrom(url);
    peer.socket.write("PROXY TCP4 1.2.3.4");
    await sleep(50);
    await server.close({ timeout: 2_000 });
    await peer.closed;
  });

  test("a TLS listener refuses proxyProtocol", async (t) => {
    const { server } = await startServer(t, { proxyProtocol: { trusted: ["127.0.0.1"] } });
    await assert.rejects(server.listenTcp({ port: 0, tls: { cert: "x", key: "y" } }), TypeError);
  });
});
