import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { connect, udpRequest, WharfError } from "../../src/client/index.js";
import { Server, type RequestContext } from "../../src/server/index.js";
import { startServer } from "../helpers/server.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url));

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<WharfError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WharfError, `expected a WharfError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

describe("Server transports", () => {
  test("ping echoes the body over TCP on IPv4 and IPv6", async (t) => {
    const server = new Server();
    t.after(() => server.destroy());
    for (const host of ["127.0.0.1", "::1"]) {
      const url = await server.listenTcp({ host, port: 0 });
      const conn = await connect(url);
      const reply = await conn.request("ping", {}, Buffer.from(`hello ${host}`));
      assert.equal(reply.body.toString(), `hello ${host}`);
      assert.equal(reply.header.ok, true);
      await conn.close();
    }
  });

  test("ping works over TLS with a trusted certificate", async (t) => {
    const server = new Server();
    t.after(() => server.destroy());
    const url = await server.listenTcp({ host: "127.0.0.1", port: 0, tls: { cert: fixture("cert.pem"), key: fixture("key.pem") } });
    assert.match(url, /^tls:\/\/127\.0\.0\.1:\d+$/);
    const conn = await connect(url, { tls: { ca: fixture("cert.pem") } });
    assert.equal((await conn.request("ping", {}, Buffer.from("secret"))).body.toString(), "secret");
    await conn.close();
    await rejectsWithCode(connect(url), "E_CONNECT"); // an untrusted certificate is refused
  });

  test("ping works over a Unix socket", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "wharf-unix-"));
    const server = new Server();
    t.after(() => {
      server.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const url = await server.listenUnix(join(dir, "wharf.sock"));
    const conn = await connect(url);
    assert.equal((await conn.request("ping", {}, Buffer.from("local"))).body.toString(), "local");
    await conn.close();
  });

  test("ping works over UDP", async (t) => {
    const { udpUrl } = await startServer(t);
    const reply = await udpRequest(udpUrl, "ping", {}, Buffer.from("datagram"));
    assert.equal(reply.body.toString(), "datagram");
  });
});

describe("Server request handling", () => {
  test("a thousand pipelined requests on one connection each get their own reply", async (t) => {
    const { url } = await startServer(t, {}, (server) => {
      server.handle("later", async (header, body) => {
        await sleep(Number(header.delay));
        return { header: { echoed: header.n }, body };
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, n) => conn.request("later", { n, delay: (n * 7) % 13 }, Buffer.from(`body ${n}`))),
    );
    replies.forEach((reply, n) => {
      assert.equal(reply.header.echoed, n);
      assert.equal(reply.body.toString(), `body ${n}`);
    });
  });

  test("a handler sees its peer, connection id and type", async (t) => {
    let seen: RequestContext | undefined;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("who", (_header, _body, ctx) => {
        seen = ctx;
        return { header: { conn: ctx.connectionId } };
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const reply = await conn.request("who");
    assert.ok(seen !== undefined);
    assert.equal(seen.peer.transport, "tcp");
    assert.equal(seen.peer.address, "127.0.0.1");
    assert.equal(seen.type, "who");
    assert.equal(reply.header.conn, seen.connectionId);
  });

  test("an unknown type gets E_UNKNOWN_TYPE and the connection stays usable", async (t) => {
    const { url } = await startServer(t);
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await rejectsWithCode(conn.request("no-such-type"), "E_UNKNOWN_TYPE");
    assert.equal((await conn.request("ping", {}, Buffer.from("still here"))).body.toString(), "still here");
  });

  test("a WharfError thrown by a handler keeps its code, message and data", async (t) => {
    const { url } = await startServer(t, {}, (server) => {
      server.handle("deny", () => {
        throw new WharfError("E_DENIED", "not today", { data: { retryAfter: 5 } });
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const err = await rejectsWithCode(conn.request("deny"), "E_DENIED");
    assert.equal(err.message, "not today");
    assert.deepEqual(err.data, { retryAfter: 5 });
  });

  test("any other handler failure replies E_INTERNAL without leaking it, and the connection survives", async (t) => {
    const { url } = await startServer(t, {}, (server) => {
      server.handle("crash", async () => {
        throw new Error("secret detail");
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const err = await rejectsWithCode(conn.request("crash"), "E_INTERNAL");
    assert.doesNotMatch(err.message, /secret/);
    assert.equal((await conn.request("ping")).header.ok, true);
  });

  test("a streaming type receives a body larger than the buffered limit, with backpressure", async (t) => {
    const { url } = await startServer(t, { maxBodySize: 1024 }, (server) => {
      server.handle(
        "count",
        async (_header, body: Readable) => {
          let bytes = 0;
          for await (const chunk of body) {
            bytes += (chunk as Buffer).length;
            if (bytes % (1024 * 1024) < 65536) await sleep(1); // a slow consumer
          }
          return { header: { bytes } };
        },
        { body: "stream" },
      );
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const size = 8 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const stream = Readable.from((function* () {
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
    })());
    const reply = await conn.request("count", {}, { size, stream });
    assert.equal(reply.header.bytes, size);
    await rejectsWithCode(conn.request("ping", {}, Buffer.alloc(2048)), "E_FRAME_TOO_LARGE"); // buffered types keep the limit
  });

  test("a handler can stream a large reply body and the client reads it as a stream", async (t) => {
    const size = 4 * 1024 * 1024 + 3;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("download", () => ({
        header: { name: "blob" },
        body: { size, stream: Readable.from((function* () {
          let left = size;
          while (left > 0) {
            const n = Math.min(left, 100_000);
            left -= n;
            yield Buffer.alloc(n, 1);
          }
        })()) },
      }));
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    // The ping is sent while the body streams; its reply waits behind the body, so the body is read first.
    const download = conn.requestStream("download");
    const pong = conn.request("ping", {}, Buffer.from("after"));
    const reply = await download;
    assert.equal(reply.header.size, size);
    assert.equal(reply.header.name, "blob");
    let received = 0;
    for await (const chunk of reply.body) received += (chunk as Buffer).length;
    assert.equal(received, size);
    assert.equal((await pong).body.toString(), "after");
  });

  test("a streamed reply body that fails mid-frame breaks the reply off: nothing else is written into it, and other clients go on", async (t) => {
    // 17 bytes short of its size when it fails: an error frame written after it would be read as the rest.
    const size = 200_017;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("broken", () => ({
        body: { size, stream: Readable.from((function* () {
          yield Buffer.alloc(100_000, 1);
          yield Buffer.alloc(100_000, 2);
          throw new Error("the disk failed");
        })()) },
      }));
    });
    const conn = await connect(url);
    const other = await connect(url);
    t.after(() => {
      conn.destroy();
      other.destroy();
    });
    const reply = await conn.requestStream("broken");
    const outcome = await (async () => {
      const parts: Buffer[] = [];
      for await (const chunk of reply.body) parts.push(chunk as Buffer);
      return Buffer.concat(parts);
    })().then(
      (body) => `a body of ${body.length} bytes, the last 17 ${body.subarray(200_000).toString("hex")}`,
      (err: unknown) => (err instanceof WharfError ? err.code : String(err)),
    );
    assert.equal(outcome, "E_CONNECTION_CLOSED", "the reply breaks off short of its size");
    assert.equal((await other.request("ping", {}, Buffer.from("still"))).body.toString(), "still");
  });

  test("a streamed reply body whose stream fails after its last byte arrives whole, and the error frame after it ends the connection", async (t) => {
    const { url } = await startServer(t, {}, (server) => {
      server.handle("late", () => ({
        body: { size: 100_000, stream: Readable.from((function* () {
          yield Buffer.alloc(100_000, 3);
          throw new Error("a check at the end failed");
        })()) },
      }));
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const reply = await conn.requestStream("late");
    const parts: Buffer[] = [];
    for await (const chunk of reply.body) parts.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(parts), Buffer.alloc(100_000, 3), "the frame is whole");
    await rejectsWithCode(conn.request("ping", {}, Buffer.from("x")), "E_INTERNAL");
  });

  test("a client timeout fails with E_TIMEOUT and cancels the handler on the server", async (t) => {
    let aborted: unknown;
    const { url } = await startServer(t, {}, (server) => {
      server.handle("hang", async (_header, _body, ctx) => {
        try {
          await sleep(10_000, undefined, { signal: ctx.signal });
        } catch (err) {
          aborted = ctx.signal.reason;
          throw err;
        }
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await rejectsWithCode(conn.request("hang", {}, undefined, { timeout: 100 }), "E_TIMEOUT");
    for (let i = 0; i < 100 && aborted === undefined; i += 1) await sleep(20);
    assert.ok(aborted instanceof WharfError);
    assert.equal(aborted.code, "E_CANCELLED");
  });

  test("an aborted request fails with E_CANCELLED", async (t) => {
    const { url } = await startServer(t, {}, (server) => {
      server.handle("hang", (_header, _body, ctx) => sleep(10_000, undefined, { signal: ctx.signal }).then(() => undefined));
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const controller = new AbortController();
    const pending = conn.request("hang", {}, undefined, { signal: controller.signal });
    controller.abort();
    await rejectsWithCode(pending, "E_CANCELLED");
  });

  test("a handler's signal fires when its connection goes away", async (t) => {
    let resolveAborted: (reason: unknown) => void = () => {};
    const aborted = new Promise((resolve) => (resolveAborted = resolve));
    const { url } = await startServer(t, {}, (server) => {
      server.handle("hang", (_header, _body, ctx) => {
        ctx.signal.addEventListener("abort", () => resolveAborted(ctx.signal.reason));
        return new Promise(() => {});
      });
    });
    const conn = await connect(url);
    const pending = conn.request("hang");
    await sleep(50);
    conn.destroy();
    await rejectsWithCode(pending, "E_CONNECTION_CLOSED");
    const reason = await aborted;
    assert.ok(reason instanceof WharfError);
    assert.equal(reason.code, "E_CONNECTION_CLOSED");
  });

  test("connecting to a closed port fails with E_CONNECT", async () => {
    const server = new Server();
    const url = await server.listenTcp({ port: 0 });
    await server.close();
    await rejectsWithCode(connect(url), "E_CONNECT");
  });

  test("a UDP request with no server times out after its retries", async (t) => {
    const { udpUrl, server } = await startServer(t);
    await server.close();
    const started = Date.now();
    await rejectsWithCode(udpRequest(udpUrl, "ping", {}, undefined, { timeout: 50, retries: 2 }), "E_TIMEOUT");
    assert.ok(Date.now() - started >= 140, "three attempts of 50 ms each");
  });
});

describe("Server shutdown", () => {
  test("close() lets in-flight requests finish and refuses new ones with E_SHUTTING_DOWN", async (t) => {
    const { server, url } = await startServer(t, {}, (s) => {
      s.handle("slow", async () => {
        await sleep(200);
        return { header: { done: true } };
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const slow = conn.request("slow");
    await sleep(50);
    const closing = server.close({ timeout: 5_000 });
    const refused = rejectsWithCode(conn.request("ping"), "E_SHUTTING_DOWN");
    assert.equal((await slow).header.done, true);
    await refused;
    await closing;
    await rejectsWithCode(connect(url), "E_CONNECT");
  });

  test("close() destroys what is still running after its timeout and the handlers' signals fire", async (t) => {
    let aborted = false;
    const { server, url } = await startServer(t, {}, (s) => {
      s.handle("stuck", (_header, _body, ctx) => {
        ctx.signal.addEventListener("abort", () => (aborted = true));
        return new Promise(() => {});
      });
    });
    const conn = await connect(url);
    const stuck = conn.request("stuck");
    await sleep(50);
    await server.close({ timeout: 200 });
    assert.equal(aborted, true);
    // Between frames the connection is told why before it is cut (issue 12): the client sees E_SHUTTING_DOWN.
    await rejectsWithCode(stuck, "E_SHUTTING_DOWN");
  });
});
