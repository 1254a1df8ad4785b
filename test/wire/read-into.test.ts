import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { describe, test } from "node:test";
import { readCopies, readInto } from "../../src/wire/read-into.js";

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** A loopback server whose connections go to `onSocket`. */
async function listen(options: { pauseOnConnect: boolean }, onSocket: (socket: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer(options, onSocket);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, server };
}

describe("readInto: reads of an accepted socket into one buffer", () => {
  test("every byte arrives in order through a small reused buffer, then 'end' and 'close' as usual", async () => {
    const sent = randomBytes(3 * 1024 * 1024 + 17);
    const buffer = Buffer.alloc(4096);
    const seen: Buffer[] = [];
    let fast = false;
    let reads = 0;
    let sameBuffer = true;
    const ended = deferred<string>();
    const { port, server } = await listen({ pauseOnConnect: true }, (socket) => {
      fast = readInto(socket, buffer, (length, bytes) => {
        reads += 1;
        sameBuffer &&= bytes === buffer;
        seen.push(Buffer.from(bytes.subarray(0, length)));
      });
      socket.on("end", () => socket.end());
      socket.on("close", () => ended.resolve(createHash("sha256").update(Buffer.concat(seen)).digest("hex")));
    });
    const client = connect(port, "127.0.0.1");
    client.end(sent);
    client.resume();
    const digest = await ended.promise;
    await once(client, "close");
    server.close();
    assert.equal(fast, true, "this Node has the slots readInto needs");
    assert.equal(digest, createHash("sha256").update(sent).digest("hex"));
    assert.ok(reads >= sent.length / buffer.length, `${reads} reads of at most ${buffer.length} bytes`);
    assert.equal(sameBuffer, true, "every read lands in the caller's buffer");
  });

  test("a callback that returns false stops the reads until resume()", async () => {
    const buffer = Buffer.alloc(1024);
    let received = 0;
    let stop = true;
    const accepted = deferred<Socket>();
    const { port, server } = await listen({ pauseOnConnect: true }, (socket) => {
      readInto(socket, buffer, (length) => {
        received += length;
        return !stop;
      });
      accepted.resolve(socket);
    });
    const client = connect(port, "127.0.0.1");
    client.write(Buffer.alloc(64 * 1024));
    const socket = await accepted.promise;
    while (received === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const whilePaused = received;
    assert.ok(whilePaused < 64 * 1024, `stopped after ${whilePaused} bytes`);
    stop = false;
    socket.resume();
    while (received < 64 * 1024) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(received, 64 * 1024);
    client.destroy();
    socket.destroy();
    server.close();
  });

  test("a socket that has delivered bytes already is left alone: false, and its 'data' keeps flowing", async () => {
    const got = deferred<{ fast: boolean; data: string }>();
    const { port, server } = await listen({ pauseOnConnect: false }, (socket) => {
      let data = "";
      socket.on("data", (chunk: Buffer) => {
        data += chunk.toString();
        if (data === "hello") {
          const fast = readInto(socket, Buffer.alloc(1024), () => assert.fail("the callback of a refused socket ran"));
          socket.write("more");
          return void socket.once("data", (more: Buffer) => {
            got.resolve({ fast, data: `hello${more.toString()}` });
            socket.destroy();
          });
        }
      });
    });
    const client = connect(port, "127.0.0.1");
    client.write("hello");
    client.once("data", () => client.end(" world"));
    const { fast, data } = await got.promise;
    assert.equal(fast, false);
    assert.equal(data, "hello world");
    client.destroy();
    server.close();
  });

  test("a socket taken in its 'connection' listener, reading already but with nothing read, takes the buffer", async () => {
    const buffer = Buffer.alloc(1024);
    const got = deferred<{ fast: boolean; data: string; ended: boolean }>();
    const { port, server } = await listen({ pauseOnConnect: false }, (socket) => {
      let data = "";
      const fast = readInto(socket, buffer, (length, bytes) => void (data += bytes.toString("utf8", 0, length)));
      socket.on("end", () => got.resolve({ fast, data, ended: true }));
    });
    const client = connect(port, "127.0.0.1");
    client.end("through the buffer");
    const result = await got.promise;
    assert.deepEqual(result, { fast: true, data: "through the buffer", ended: true });
    client.destroy();
    server.close();
  });

  test("readCopies hands out chunks of their own: kept ones stay intact while later reads reuse the buffer", async () => {
    const sent = randomBytes(2 * 1024 * 1024);
    const kept: Buffer[] = [];
    const done = deferred<void>();
    const { port, server } = await listen({ pauseOnConnect: false }, (socket) => {
      readCopies(socket, (chunk) => kept.push(chunk));
      socket.on("end", () => {
        socket.end();
        done.resolve();
      });
    });
    const client = connect(port, "127.0.0.1");
    client.end(sent);
    client.resume();
    await done.promise;
    server.close();
    assert.ok(kept.length > 1, `${kept.length} reads`);
    assert.ok(Buffer.concat(kept).equals(sent), "the kept chunks still hold what was sent, in order");
  });
});
