import assert from "node:assert/strict";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { once } from "node:events";
import { describe, test, type TestContext } from "node:test";
import { DatagramClient, udpRequest } from "../../src/client/index.js";
import { WharfError, decodeDatagram, encodeDatagram, type FrameHeader } from "../../src/wire/index.js";
import { startServer } from "../helpers/server.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A bare UDP socket standing in for a server, so a test decides what comes back and sees every datagram. */
async function peer(t: TestContext, answer: (header: FrameHeader, body: Buffer, rinfo: RemoteInfo, size: number) => void = () => {}) {
  const socket: Socket = createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  const seen: { header: FrameHeader; size: number; port: number }[] = [];
  socket.on("message", (msg, rinfo) => {
    const { header, body } = decodeDatagram(msg);
    seen.push({ header, size: msg.length, port: rinfo.port });
    answer(header, body, rinfo, msg.length);
  });
  t.after(() => new Promise((resolve) => socket.close(() => resolve(null))));
  const reply = (rinfo: RemoteInfo, header: FrameHeader, body?: Uint8Array) => socket.send(encodeDatagram(header, body), rinfo.port, rinfo.address);
  return { url: `udp://127.0.0.1:${socket.address().port}`, seen, reply };
}

async function open(t: TestContext, url: string, options = {}) {
  const client = await DatagramClient.open(url, options);
  t.after(() => client.close());
  return client;
}

describe("DatagramClient", () => {
  test("keeps one socket: requests in flight at once are matched to their replies by id", async (t) => {
    const { udpUrl } = await startServer(t, {}, (server) => {
      server.handle("slow.echo", async (header, body, ctx) => {
        await sleep(Number(header.delay));
        return { header: { port: ctx.peer.port }, body };
      });
    });
    const client = await open(t, udpUrl);
    const replies = await Promise.all([60, 30, 0].map((delay) => client.request("slow.echo", { delay }, Buffer.from(`d${delay}`))));
    assert.deepEqual(replies.map((r) => r.body.toString()), ["d60", "d30", "d0"]);
    assert.deepEqual(new Set(replies.map((r) => r.header.port)), new Set([client.port]), "all from the client's one port");
    assert.equal(client.pending, 0);
  });

  test("asks again with the same id when unanswered, and ignores a repeat of a reply already taken", async (t) => {
    let answered = 0;
    const server = await peer(t, (header, _body, rinfo) => {
      if (server.seen.length < 3) return; // the first two attempts are "lost"
      answered += 1;
      server.reply(rinfo, { id: header.id, ok: true, n: answered });
      server.reply(rinfo, { id: header.id, ok: true, n: 99 }); // a duplicate the network made
    });
    // Generous retries: on a loaded machine an answered attempt may still be followed by one more.
    const client = await open(t, server.url, { timeout: 40, retries: 5 });
    const reply = await client.request("ping");
    assert.equal(reply.header.n, 1);
    assert.ok(server.seen.length >= 3);
    assert.equal(new Set(server.seen.map((s) => s.header.id)).size, 1, "every attempt has the same id");
    const next = await client.request("ping", {}, undefined, { timeout: 5_000, retries: 0 });
    assert.notEqual(next.header.id, reply.header.id);
    assert.equal(next.header.n, answered, "answered by its own reply");
    assert.notEqual(next.header.n, 99, "not by the stray duplicate of the first reply");
  });

  test("fails with E_TIMEOUT after 1 + retries attempts of timeout ms each", async (t) => {
    const server = await peer(t);
    const client = await open(t, server.url, { timeout: 30 });
    const started = Date.now();
    await assert.rejects(client.request("ping", {}, undefined, { retries: 3 }), (err: unknown) => err instanceof WharfError && err.code === "E_TIMEOUT");
    assert.ok(Date.now() - started >= 4 * 30 - 5);
    assert.equal(server.seen.length, 4);
    assert.equal(client.pending, 0);
  });

  test("a signal aborts a request with E_CANCELLED and leaves nothing pending; an aborted signal sends nothing", async (t) => {
    const server = await peer(t);
    const client = await open(t, server.url, { timeout: 10_000 });
    const abort = new AbortController();
    const request = client.request("ping", {}, undefined, { signal: abort.signal });
    await sleep(20);
    abort.abort(new Error("user gave up"));
    await assert.rejects(request, (err: unknown) => err instanceof WharfError && err.code === "E_CANCELLED" && (err.cause as Error).message === "user gave up");
    assert.equal(client.pending, 0);
    const before = server.seen.length;
    await assert.rejects(client.request("ping", {}, undefined, { signal: AbortSignal.abort() }), { code: "E_CANCELLED" });
    await sleep(30);
    assert.equal(server.seen.length, before);
  });

  test("close() fails requests in flight with E_CONNECTION_CLOSED, is idempotent, and refuses later requests", async (t) => {
    const server = await peer(t);
    const client = await DatagramClient.open(server.url, { timeout: 10_000 });
    const inFlight = client.request("ping");
    await Promise.all([client.close(), client.close()]);
    await assert.rejects(inFlight, { code: "E_CONNECTION_CLOSED" });
    await assert.rejects(client.request("ping"), { code: "E_CONNECTION_CLOSED" });
  });

  test("decodes the server's error replies, code, message and data, through WharfError.fromWire", async (t) => {
    const { udpUrl } = await startServer(t, {}, (server) => {
      server.handle("busy", () => {
        throw new WharfError("E_BUSY", "come back later", { data: { retryAfterMs: 5 } });
      });
    });
    const client = await open(t, udpUrl);
    // Padded: an error with data is larger than 3x a bare request, and the server would cut its data to fit.
    await assert.rejects(client.request("busy", {}, undefined, { minRequestSize: 256 }), (err: unknown) => {
      assert.ok(err instanceof WharfError);
      assert.deepEqual(err.toWire(), { code: "E_BUSY", message: "come back later", data: { retryAfterMs: 5 } });
      return true;
    });
    await assert.rejects(client.request("no.such.type"), { code: "E_UNKNOWN_TYPE" });
    const server = await peer(t, (header, _b, rinfo) => server.reply(rinfo, { id: header.id, ok: false }));
    await assert.rejects(udpRequest(server.url, "x"), { code: "E_PROTOCOL", message: "the request failed" });
  });

  test("emits frames without an id as events, and ignores datagrams that are not frames", async (t) => {
    const server = await peer(t, (header, _b, rinfo) => {
      server.reply(rinfo, { event: "news", n: 1 }, Buffer.from("pushed"));
      serverSocketJunk(rinfo);
      server.reply(rinfo, { id: header.id, ok: true });
    });
    const junk = createSocket("udp4");
    t.after(() => junk.close());
    const serverSocketJunk = (rinfo: RemoteInfo) => junk.send(Buffer.from("not a frame"), rinfo.port, rinfo.address);
    const client = await open(t, server.url);
    const event = once(client, "event");
    await client.request("subscribe");
    const [header, body] = (await event) as [FrameHeader, Buffer];
    assert.deepEqual([header.event, body.toString()], ["news", "pushed"]);
  });

  test("pads the request to minRequestSize with header whitespace that the handler never sees", async (t) => {
    let seen: Record<string, unknown> = {};
    const { udpUrl } = await startServer(t, {}, (server) => {
      server.handle("look", (header, body) => {
        seen = { ...header };
        return { body };
      });
    });
    const client = await open(t, udpUrl, { minRequestSize: 300 });
    const reply = await client.request("look", { a: 1 }, Buffer.from("body"));
    assert.equal(reply.body.toString(), "body");
    assert.deepEqual(seen, { a: 1, type: "look", id: seen.id, size: 4 });
    const server = await peer(t, (header, _b, rinfo) => server.reply(rinfo, { id: header.id, ok: true }));
    await udpRequest(server.url, "ping", { a: 1 }, undefined, { minRequestSize: 1_000 });
    await udpRequest(server.url, "ping", { a: 1 }, undefined, { minRequestSize: 1_000_000 });
    await udpRequest(server.url, "ping", { a: 1 });
    assert.deepEqual(server.seen.map((s) => s.size), [1_000, 65_507, server.seen[2].size]);
    assert.ok(server.seen[2].size < 100, "no padding unless asked");
  });

  test("answered E_USE_STREAM, asks once more with the same id, padded for any reply", async (t) => {
    const sizes: number[] = [];
    const server = await peer(t, (header, _b, rinfo, size) => {
      sizes.push(size);
      // The server's rule: a 30,000-byte reply goes out only for a request of at least 10,000 bytes.
      if (size * 3 < 30_000) server.reply(rinfo, { id: header.id, ok: false, error: { code: "E_USE_STREAM", message: "use a stream" } });
      else server.reply(rinfo, { id: header.id, ok: true }, Buffer.alloc(30_000 - 100));
    });
    const client = await open(t, server.url);
    const reply = await client.request("big");
    assert.equal(reply.body.length, 29_900);
    assert.equal(sizes.length, 2);
    assert.equal(sizes[1], 21_836, "a third of the largest datagram, rounded up");
    assert.equal(server.seen[0].header.id, server.seen[1].header.id);

    const strict = await open(t, server.url, { padOnUseStream: false });
    await assert.rejects(strict.request("big"), { code: "E_USE_STREAM" });
    assert.equal((await udpRequest(server.url, "big")).body.length, 29_900, "udpRequest pads and asks again too");
    assert.deepEqual(sizes.slice(2).map((size) => size >= 10_000), [false, false, true]);
  });

  test("a datagram the system refuses to send fails its request with E_CONNECT at once, without retries", async (t) => {
    // Sending to the broadcast address without SO_BROADCAST is refused by the kernel (EACCES).
    const client = await open(t, "udp://255.255.255.255:9", { timeout: 10_000, retries: 5 });
    const started = Date.now();
    await assert.rejects(client.request("ping"), (err: unknown) => err instanceof WharfError && err.code === "E_CONNECT" && /EACCES/.test(err.message));
    assert.ok(Date.now() - started < 5_000);
    assert.equal(client.pending, 0);
  });

  test("refuses bad options with a RangeError or TypeError that names them", async (t) => {
    await assert.rejects(DatagramClient.open("tcp://127.0.0.1:1"), TypeError);
    await assert.rejects(DatagramClient.open("udp://127.0.0.1:1", { retries: -1 }), /options\.retries/);
    const client = await open(t, "udp://127.0.0.1:9");
    await assert.rejects(client.request("x", {}, undefined, { timeout: 0 }), /options\.timeout/);
    await assert.rejects(client.request("x", {}, undefined, { minRequestSize: 1.5 }), /options\.minRequestSize/);
    await assert.rejects(client.request("x", {}, Buffer.alloc(70_000)), { code: "E_FRAME_TOO_LARGE" });
    assert.equal(client.pending, 0);
  });
});
