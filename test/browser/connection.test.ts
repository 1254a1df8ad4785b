/**
 * BrowserConnection against a scripted peer: a real `ws` WebSocketServer on 127.0.0.1 that answers with chosen
 * frames (out of order, streamed, events) or with what a broken or hostile server might send (text, garbage,
 * frames that lie about their size). What the server's side does is covered by services.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket, { WebSocketServer, type WebSocket as ServerSocket } from "ws";
import { WharfError, connect, decodeFrame, encodeFrame, type BrowserConnection } from "../../src/browser/index.js";

type Script = (ws: ServerSocket, header: Record<string, unknown>, body: Uint8Array) => void;

let server: WebSocketServer;
let url = "";
let script: Script = () => {};
const received: Record<string, unknown>[] = [];

function reply(ws: ServerSocket, header: Record<string, unknown>, body?: Uint8Array): void {
  ws.send(encodeFrame(header, body));
}

async function open(): Promise<BrowserConnection> {
  return connect(url, { WebSocket, timeout: 5_000 });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (err) {
    assert.ok(err instanceof WharfError, String(err));
    return err.code;
  }
}

describe("BrowserConnection with a scripted peer", () => {
  before(async () => {
    server = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (protocols) => (protocols.has("wharf") ? "wharf" : false) });
    await new Promise((resolve) => server.once("listening", resolve));
    url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`;
    server.on("connection", (ws) => {
      ws.on("message", (data: Buffer) => {
        const { header, body } = decodeFrame(new Uint8Array(data));
        received.push(header);
        script(ws, header, body);
      });
    });
  });

  after(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  test("replies that come in any order are matched to their requests by id", async () => {
    const held: [ServerSocket, Record<string, unknown>][] = [];
    script = (ws, header) => {
      held.push([ws, header]);
      if (held.length === 3) for (const [s, h] of held.reverse()) reply(s, { id: h.id, ok: true, n: h.n });
    };
    const conn = await open();
    const replies = await Promise.all([1, 2, 3].map((n) => conn.request({ type: "x", n })));
    assert.deepEqual(replies.map((r) => r.header.n), [1, 2, 3]);
    conn.close();
  });

  test("a streamed reply: onFrame sees the intermediate frames in order, and a promise it returns holds later frames back", async () => {
    script = (ws, header) => {
      for (let i = 0; i < 5; i += 1) reply(ws, { id: header.id, ok: true, more: true, i });
      reply(ws, { event: "tick" });
      reply(ws, { id: header.id, ok: true, count: 5 });
    };
    const conn = await open();
    const log: string[] = [];
    conn.onEvent((h) => log.push(`event ${String(h.event)}`));
    const final = await conn.request({ type: "stream" }, undefined, {
      onFrame: async (h) => {
        log.push(`frame ${String(h.i)} start`);
        await sleep(20);
        log.push(`frame ${String(h.i)} end`);
      },
    });
    assert.equal(final.header.count, 5);
    assert.deepEqual(log, [0, 1, 2, 3, 4].flatMap((i) => [`frame ${i} start`, `frame ${i} end`]).concat(["event tick"]));
    conn.close();
  });

  test("a timeout rejects with E_TIMEOUT and sends a cancel naming the request; a late reply is dropped", async () => {
    received.length = 0;
    let late: (() => void) | null = null;
    script = (ws, header) => {
      if (header.type === "slow") late = () => reply(ws, { id: header.id, ok: true });
      if (header.type === "cancel") reply(ws, { id: header.id, ok: true, cancelled: true });
    };
    const conn = await open();
    assert.equal(await code(conn.request({ type: "slow" }, undefined, { timeout: 100 })), "E_TIMEOUT");
    await sleep(100);
    const slow = received.find((h) => h.type === "slow");
    assert.deepEqual(received.find((h) => h.type === "cancel")?.ref, slow?.id);
    (late as (() => void) | null)?.();
    const abort = new AbortController();
    const aborted = conn.request({ type: "slow" }, undefined, { signal: abort.signal });
    abort.abort();
    assert.equal(await code(aborted), "E_CANCELLED");
    assert.equal(conn.pending, 0);
    assert.equal(conn.closed, false);
    conn.close();
  });

  for (const [name, send] of [
    ["a text message", (ws: ServerSocket) => ws.send("hello")],
    ["a message shorter than a length", (ws: ServerSocket) => ws.send(Uint8Array.of(0, 0))],
    ["a header length of 4 GiB", (ws: ServerSocket) => ws.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2))],
    ["a header that is not JSON", (ws: ServerSocket) => ws.send(Buffer.concat([Buffer.of(0, 0, 0, 3), Buffer.from("{{{")]))],
    ["a frame whose size lies", (ws: ServerSocket) => ws.send(Buffer.concat([Buffer.of(0, 0, 0, 17), Buffer.from('{"id":1,"size":9}'), Buffer.from("ab")]))],
    ["two frames in one message", (ws: ServerSocket) => ws.send(Buffer.concat([encodeFrame({ id: 1, ok: true }), encodeFrame({ id: 1, ok: true })]))],
  ] as const) {
    test(`${name} from the server closes the connection with E_PROTOCOL, and what was pending fails with it`, async () => {
      script = (ws) => send(ws);
      const conn = await open();
      const reasons: (WharfError | undefined)[] = [];
      conn.onClose((err) => reasons.push(err));
      assert.equal(await code(conn.request({ type: "anything" })), "E_PROTOCOL");
      assert.equal(conn.closed, true);
      assert.equal(reasons[0]?.code, "E_PROTOCOL");
      assert.equal(await code(conn.request({ type: "again" })), "E_PROTOCOL");
    });
  }

  test("a peer that does not agree to the wharf subprotocol is not a wharf gateway: E_CONNECT", async () => {
    const plain = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: () => false });
    await new Promise((resolve) => plain.once("listening", resolve));
    try {
      const port = (plain.address() as { port: number }).port;
      assert.equal(await code(connect(`ws://127.0.0.1:${port}/ws`, { WebSocket, timeout: 5_000 })), "E_CONNECT");
    } finally {
      for (const client of plain.clients) client.terminate();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  test("an event listener that throws stops neither the others nor the connection", async () => {
    script = (ws, header) => {
      reply(ws, { event: "chat.message" });
      reply(ws, { id: header.id, ok: true });
    };
    const conn = await open();
    const seen: string[] = [];
    const original = console.error;
    console.error = () => {};
    try {
      conn.onEvent(() => {
        throw new Error("a broken listener");
      });
      conn.onEvent((h) => seen.push(String(h.event)));
      await conn.request({ type: "x" });
    } finally {
      console.error = original;
    }
    assert.deepEqual(seen, ["chat.message"]);
    assert.equal(conn.closed, false);
    conn.close();
  });
});
