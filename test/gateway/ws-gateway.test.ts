import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { Readable } from "node:stream";
import { describe, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import WebSocket from "ws";
import { HttpGateway } from "../../src/gateway/index.js";
import { Server, type ServerOptions } from "../../src/server/index.js";
import { encodeFrame, FrameDecoder, type FrameHeader } from "../../src/wire/index.js";

const silent = pino({ level: "silent" });

/** A Server with a gateway on a free port; both closed when the test ends. */
async function startGateway(
  t: TestContext,
  setup: (server: Server) => void = () => {},
  options: { origins?: string[]; server?: ServerOptions } = {},
): Promise<{ server: Server; gateway: HttpGateway; http: string; ws: string }> {
  const server = new Server({ logger: silent, ...options.server });
  setup(server);
  const gateway = new HttpGateway(server, { logger: silent, origins: options.origins });
  const http = await gateway.listen({ host: "127.0.0.1", port: 0 });
  t.after(async () => {
    server.destroy();
    await gateway.close();
  });
  return { server, gateway, http, ws: `${http.replace(/^http/, "ws")}/ws` };
}

/** A WebSocket client that records every message as a decoded frame, and how the socket closed. */
class Peer {
  readonly ws: WebSocket;
  readonly messages: Buffer[] = [];
  readonly frames: { header: FrameHeader; body: Buffer }[] = [];
  closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  constructor(url: string, options: { protocol?: string | null; origin?: string } = {}) {
    const protocol = options.protocol === undefined ? "wharf" : options.protocol;
    this.ws = new WebSocket(url, protocol === null ? [] : [protocol], options.origin === undefined ? {} : { origin: options.origin });
    this.ws.on("message", (data: Buffer) => {
      this.messages.push(data);
      const decoder = new FrameDecoder({ onFrame: (header, body) => this.frames.push({ header, body: body as Buffer }) });
      decoder.push(data);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.ws.on("error", () => {});
    this.closed = once(this.ws, "close").then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  }

  async open(): Promise<void> {
    await once(this.ws, "open");
  }

  send(header: FrameHeader, body?: Buffer): void {
    this.ws.send(encodeFrame(header, body));
  }

  async waitFrames(count: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.frames.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.frames.length} of ${count} frames arrived`);
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), sleep(100)]);
    }
  }
}

/** The HTTP status an upgrade was refused with. */
async function refusedStatus(url: string, options: { protocol?: string | null; origin?: string }): Promise<number> {
  const peer = new Peer(url, options);
  const [request, response] = (await once(peer.ws, "unexpected-response")) as [{ destroy(): void }, { statusCode: number }];
  request.destroy();
  return response.statusCode;
}

describe("the WebSocket gateway", () => {
  test("carries the same frames as TCP: ping, unknown types, 1,000 pipelined requests answered in order", async (t) => {
    const { ws } = await startGateway(t);
    const peer = new Peer(ws);
    await peer.open();
    peer.send({ type: "ping", id: 1 }, Buffer.from("hello"));
    peer.send({ type: "nope", id: 2 });
    await peer.waitFrames(2);
    assert.deepEqual(peer.frames[0].header, { id: 1, ok: true, size: 5 });
    assert.equal(peer.frames[0].body.toString(), "hello");
    assert.equal((peer.frames[1].header.error as { code: string }).code, "E_UNKNOWN_TYPE");
    for (let id = 3; id < 1003; id += 1) peer.send({ type: "ping", id }, Buffer.from(String(id)));
    await peer.waitFrames(1002);
    assert.deepEqual(peer.frames.slice(2).map((f) => f.header.id), Array.from({ length: 1000 }, (_, i) => i + 3));
    assert.equal(peer.messages.length, peer.frames.length, "one frame per message");
    peer.ws.close();
  });

  test("sends each reply frame as exactly one message: streamed bodies and intermediate frames too", async (t) => {
    const big = Buffer.alloc(300 * 1024, 7);
    const { ws } = await startGateway(t, (server) => {
      server.handle("big", () => ({ body: { size: big.length, stream: Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]) } }));
      server.handle("parts", async (_h, _b, ctx) => {
        for (let i = 0; i < 3; i += 1) await ctx.send({ n: i }, Buffer.alloc(70_000, i));
        return { header: { done: true } };
      });
    });
    const peer = new Peer(ws);
    await peer.open();
    peer.send({ type: "big", id: 1 });
    peer.send({ type: "parts", id: 2 });
    await peer.waitFrames(5);
    assert.equal(peer.messages.length, 5);
    assert.deepEqual(peer.frames[0].body, big);
    assert.deepEqual(peer.frames.slice(1).map((f) => f.header.n ?? f.header.done), [0, 1, 2, true]);
    peer.ws.close();
  });

  test("a text message gets the fatal E_BAD_HEADER frame, then a close (1003)", async (t) => {
    const { ws } = await startGateway(t);
    const peer = new Peer(ws);
    await peer.open();
    peer.ws.send('{"type":"ping","id":1}');
    const closed = await peer.closed;
    assert.equal(closed.code, 1003);
    assert.equal(peer.frames.length, 1);
    assert.equal(peer.frames[0].header.fatal, true);
    assert.equal((peer.frames[0].header.error as { code: string }).code, "E_BAD_HEADER");
  });

  test("a message that is not exactly one frame gets TCP's error frame and a close, after the replies before it", async (t) => {
    const { ws } = await startGateway(t);
    const cases: [string, Buffer, string][] = [
      ["two frames in one message", Buffer.concat([encodeFrame({ type: "ping", id: 2 }), encodeFrame({ type: "ping", id: 3 })]), "E_BAD_SIZE"],
      ["a frame cut inside its body", encodeFrame({ type: "ping", id: 2 }, Buffer.alloc(10)).subarray(0, 40), "E_TRUNCATED"],
      ["a frame cut inside its header", encodeFrame({ type: "ping", id: 2 }).subarray(0, 10), "E_TRUNCATED"],
      ["three bytes", Buffer.from([0, 0, 0]), "E_TRUNCATED"],
      ["a header that is not JSON", Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from("{{{")]), "E_BAD_HEADER"],
      ["a header length over the limit", Buffer.from([0x7f, 0, 0, 0]), "E_FRAME_TOO_LARGE"],
    ];
    for (const [name, message, code] of cases) {
      const peer = new Peer(ws);
      await peer.open();
      peer.send({ type: "ping", id: 1 }, Buffer.from("first"));
      peer.ws.send(message);
      const closed = await peer.closed;
      assert.equal(closed.code === 1002 || closed.code === 1000, true, `${name}: close code ${closed.code}`);
      assert.deepEqual(peer.frames.map((f) => f.header.id), [1, peer.frames.at(-1)?.header.id], name);
      const last = peer.frames.at(-1)!;
      assert.equal(last.header.fatal, true, name);
      assert.equal((last.header.error as { code: string }).code, code, name);
    }
  });

  test("refuses an upgrade from another origin (403) and one without the wharf subprotocol (400)", async (t) => {
    const { ws, http } = await startGateway(t, () => {}, { origins: ["https://app.example.com"] });
    assert.equal(await refusedStatus(ws, { origin: "http://evil.example" }), 403);
    assert.equal(await refusedStatus(ws, { origin: "http://127.0.0.1:1" }), 403, "same host, other port");
    assert.equal(await refusedStatus(ws, { protocol: null }), 400);
    for (const origin of [http, "https://app.example.com", undefined]) {
      const peer = new Peer(ws, { origin });
      await peer.open();
      peer.send({ type: "ping", id: 1 });
      await peer.waitFrames(1);
      peer.ws.close();
    }
    const plain = await fetch(`${http}/ws`);
    assert.equal(plain.status, 426);
    assert.equal((await fetch(`${http}/nothing-here`)).status, 404);
  });

  test("a peer that does not read is paused, not buffered without bound; it gets everything once it reads", async (t) => {
    const chunk = Buffer.alloc(64 * 1024, 1);
    const total = 64 * 1024 * 1024;
    const { ws, server } = await startGateway(t, (s) => {
      s.handle("flood", () => ({ body: { size: total, stream: Readable.from((function* () { for (let sent = 0; sent < total; sent += chunk.length) yield chunk; })()) } }));
    });
    const client = new WebSocket(ws, ["wharf"], { maxPayload: total + 1024 });
    await once(client, "open");
    let received = 0;
    client.on("message", (data: Buffer) => (received += data.length));
    client.pause();
    client.send(encodeFrame({ type: "flood", id: 1 }));
    await sleep(1500);
    const [connection] = server.connections();
    assert.ok(connection.bufferedOut < 8 * 1024 * 1024, `the server holds ${connection.bufferedOut} bytes for a peer that does not read`);
    client.resume();
    const deadline = Date.now() + 30_000;
    while (received < total && Date.now() < deadline) await sleep(50);
    assert.ok(received > total, `received ${received} of ${total}`);
    client.close();
  });

  test("hostile messages cost only their own connection: a bystander keeps being served", async (t) => {
    const { ws, server } = await startGateway(t);
    const bystander = new Peer(ws);
    await bystander.open();
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 40; i += 1) {
      const peer = new Peer(ws);
      await peer.open();
      const bytes = Buffer.alloc(Math.floor(random() * 64), 0);
      for (let j = 0; j < bytes.length; j += 1) bytes[j] = Math.floor(random() * 256);
      if (i % 3 === 0 && bytes.length >= 4) bytes.writeUInt32BE(Math.max(0, bytes.length - 4), 0);
      peer.ws.send(bytes);
      await Promise.race([peer.closed, sleep(2000)]);
      peer.ws.terminate();
      bystander.send({ type: "ping", id: i + 1 });
      await bystander.waitFrames(i + 1);
    }
    assert.equal(server.state, "serving");
    bystander.ws.close();
  });

  test("publishes each request on wharf:request and counts WebSocket bytes in trafficTotals()", async (t) => {
    const { ws, server } = await startGateway(t);
    const seen: { type: string; transport: string; code: string | null }[] = [];
    const onMessage = (message: unknown): void => void seen.push(message as (typeof seen)[number]);
    subscribe("wharf:request", onMessage);
    t.after(() => unsubscribe("wharf:request", onMessage));
    const peer = new Peer(ws);
    await peer.open();
    peer.send({ type: "ping", id: 1 }, Buffer.alloc(1000));
    peer.send({ type: "nope", id: 2 });
    await peer.waitFrames(2);
    assert.deepEqual(seen.map((m) => [m.type, m.transport, m.code]), [["ping", "ws", null], ["nope", "ws", "E_UNKNOWN_TYPE"]]);
    const totals = server.trafficTotals();
    assert.ok(totals.bytesIn > 1000 && totals.bytesOut > 1000, JSON.stringify(totals));
    peer.ws.close();
  });
});
