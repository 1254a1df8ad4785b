/**
 * Every client of wharf/browser against a real `wharf serve --http-port 0`, through its WebSocket gateway, with
 * the `ws` package's WebSocket passed in (as a page would use the browser's): logins, requests with timeout and
 * cancel, uploads (verified, with progress, resumed after a dropped connection), chat with a TCP client, exec,
 * RPC and time.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import {
  ChatClient,
  ExecClient,
  FilesClient,
  RpcClient,
  WharfError,
  connect,
  login,
  logout,
  time,
  type BrowserConnection,
  type ChatMessage,
} from "../../src/browser/index.js";
import { connect as tcpConnect } from "../../src/client/index.js";
import { ChatClient as TcpChatClient, login as tcpLogin, type ReceivedMessage } from "../../src/services/chat/index.js";
import { createContentHash } from "../../src/services/files/hash.js";
import { startHttpServe, type HttpServe } from "./serve-http.js";

const PASSWORD = "correct horse";
let serve: HttpServe;
const open: BrowserConnection[] = [];

async function session(user = "alice"): Promise<BrowserConnection> {
  const conn = await connect(serve.wsUrl, { WebSocket });
  open.push(conn);
  await login(conn, { user, password: PASSWORD });
  return conn;
}

function blake3(bytes: Uint8Array): string {
  const hash = createContentHash("blake3");
  hash.update(bytes);
  return `blake3:${hash.digest()}`;
}

async function rejects(promise: Promise<unknown>, code: string): Promise<WharfError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WharfError, `not a WharfError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe("wharf/browser against wharf serve's gateway", { timeout: 240_000 }, () => {
  before(async () => {
    serve = await startHttpServe(
      [
        { name: "alice", password: PASSWORD, canExec: true },
        { name: "bob", password: PASSWORD },
      ],
      ["--rpc-demo", "--exec-max-concurrent", "1"],
    );
  });

  after(async () => {
    for (const conn of open) conn.close();
    await serve?.stop();
  });

  test("connect() takes the http:// URL of the server and opens /ws with the wharf subprotocol", async () => {
    const conn = await connect(serve.httpUrl, { WebSocket });
    open.push(conn);
    const { body } = await conn.request({ type: "ping" }, new TextEncoder().encode("hi"));
    assert.equal(new TextDecoder().decode(body), "hi");
    conn.close();
    assert.equal(conn.closed, true);
  });

  test("connect() to a port with nothing listening fails with E_CONNECT", async () => {
    await rejects(connect("ws://127.0.0.1:1/ws", { WebSocket, timeout: 5_000 }), "E_CONNECT");
  });

  test("a page from another origin is refused (403): E_CONNECT", async () => {
    class ForeignPage extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { origin: "http://evil.example" });
      }
    }
    await rejects(connect(serve.wsUrl, { WebSocket: ForeignPage as never, timeout: 5_000 }), "E_CONNECT");
  });

  test("login() with a password, a token issued with it, and a wrong password (E_AUTH); logout() revokes the token", async () => {
    const conn = await connect(serve.wsUrl, { WebSocket });
    open.push(conn);
    await rejects(login(conn, { user: "alice", password: "wrong" }), "E_AUTH");
    await rejects(new FilesClient(conn).list(""), "E_AUTH");
    const first = await login(conn, { user: "alice", password: PASSWORD, issueToken: true });
    assert.equal(first.user, "alice");
    assert.equal(first.canExec, true);
    assert.equal(typeof first.token, "string");
    assert.ok((first.expires ?? 0) > Date.now());
    const other = await connect(serve.wsUrl, { WebSocket });
    open.push(other);
    const byToken = await login(other, { token: first.token! });
    assert.deepEqual(byToken, { user: "alice", canExec: true });
    assert.equal(await logout(other, first.token!), true);
    assert.equal(await logout(other, first.token!), false);
    const third = await connect(serve.wsUrl, { WebSocket });
    open.push(third);
    await rejects(login(third, { token: first.token! }), "E_AUTH");
    const bob = await session("bob");
    assert.equal((await login(bob, { user: "bob", password: PASSWORD })).canExec, false);
  });

  test("request() pipelines: 200 pings in flight, each reply matched to its request", async () => {
    const conn = await session();
    const bodies = Array.from({ length: 200 }, (_, i) => new TextEncoder().encode(`ping ${i} ${"x".repeat(i)}`));
    const replies = await Promise.all(bodies.map((body) => conn.request({ type: "ping" }, body)));
    replies.forEach((reply, i) => assert.deepEqual(Buffer.from(reply.body), Buffer.from(bodies[i])));
    assert.equal(conn.pending, 0);
    await rejects(conn.request({ type: "no.such.type" }), "E_UNKNOWN_TYPE");
    assert.equal(conn.closed, false, "an unknown type leaves the connection open");
  });

  test("request(type, fields, body) and requestStream() have wharf/client's shape", async () => {
    const conn = await session();
    const bytes = new TextEncoder().encode("same shape as wharf/client");
    const reply = await conn.request("ping", {}, bytes);
    assert.deepEqual(Buffer.from(reply.body), Buffer.from(bytes));
    const streamed = await conn.requestStream("ping", {}, bytes);
    const chunks: Uint8Array[] = [];
    for await (const chunk of streamed.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(bytes));
    await rejects(conn.request("no.such.type"), "E_UNKNOWN_TYPE");
  });

  test("a request that times out fails with E_TIMEOUT and is cancelled on the server", async () => {
    const conn = await session();
    // With one command at a time allowed, a sleep that was not cancelled would make the next run E_EXEC_BUSY.
    await rejects(conn.request({ type: "exec.run", argv: ["sleep", "30"] }, undefined, { timeout: 500 }), "E_TIMEOUT");
    const output = await runUntilNotBusy(conn, ["echo", "after timeout"]);
    assert.equal(output.text, "after timeout\n");
  });

  test("aborting a request fails it with E_CANCELLED and cancels it on the server", async () => {
    const conn = await session();
    const abort = new AbortController();
    const exec = new ExecClient(conn);
    const run = exec.run(["sleep", "30"], { signal: abort.signal, stdin: false });
    await sleep(300);
    abort.abort();
    await rejects(run.done, "E_CANCELLED");
    const output = await runUntilNotBusy(conn, ["echo", "after abort"]);
    assert.equal(output.exitCode, 0);
  });

  test("FilesClient: mkdir, upload, list, stat, mv, rm", async () => {
    const conn = await session();
    const files = new FilesClient(conn);
    await files.mkdir("docs");
    const bytes = new TextEncoder().encode("hello from a page\n");
    const result = await files.upload(new File([bytes], "hello.txt", { lastModified: 1_700_000_000_000 }), "docs/hello.txt");
    assert.equal(result.hash, blake3(bytes));
    assert.equal(result.size, bytes.length);
    const entries = await files.list("docs", { hash: true });
    assert.deepEqual(entries.map((e) => [e.name, e.type, e.size, e.hash]), [["hello.txt", "file", bytes.length, blake3(bytes)]]);
    assert.equal((await files.stat("docs/hello.txt")).mtime, 1_700_000_000_000);
    assert.deepEqual(await files.mv("docs/hello.txt", "docs/hi.txt"), { from: "docs/hello.txt", to: "docs/hi.txt" });
    await rejects(files.stat("docs/hello.txt"), "E_NOT_FOUND");
    assert.equal((await files.rm("docs", { recursive: true })).files, 1);
    const empty = await files.upload(new Blob([]), "empty.bin");
    assert.equal(empty.hash, blake3(new Uint8Array(0)));
  });

  test("upload() of 20 MiB: progress with a rate, and the server's hash equals a local BLAKE3 of the bytes", async () => {
    const conn = await session();
    const files = new FilesClient(conn);
    const bytes = randomBytes(20 * 1024 * 1024);
    const progress: { sent: number; total: number; rate: number }[] = [];
    const result = await files.upload(new File([bytes], "big.bin", { lastModified: 1_700_000_000_000 }), "big.bin", {
      onProgress: (p) => progress.push({ sent: p.sent, total: p.total, rate: p.rate }),
    });
    const local = blake3(bytes);
    assert.equal(result.hash, local);
    assert.equal(result.resumedFrom, 0);
    assert.equal(result.sent, bytes.length);
    assert.equal((await files.stat("big.bin", { hash: true })).hash, local, "the hash the server recorded");
    assert.ok(progress.length >= 20, `a progress report per 1 MiB slice, got ${progress.length}`);
    assert.deepEqual(progress.at(-1)?.sent, bytes.length);
    assert.ok(progress.every((p, i) => p.total === bytes.length && (i === 0 || p.sent >= progress[i - 1].sent)));
    assert.ok(progress.some((p) => p.rate > 0), "a rate is reported");
  });

  test("files.put.data in slices: each at the previous slice's end, none past the file's end (E_INVALID_PARAMS)", async () => {
    const conn = await session();
    const bytes = randomBytes(10);
    const begin = await conn.request({ type: "files.put.begin", path: "slices.bin", fileSize: 10, stamp: "s", hashes: ["blake3"] });
    const upload = begin.header.upload;
    const first = await conn.request({ type: "files.put.data", upload, offset: 0 }, bytes.subarray(0, 4));
    assert.deepEqual([first.header.received, first.header.offset, first.header.hash], [4, 4, undefined]);
    await rejects(conn.request({ type: "files.put.data", upload, offset: 0 }, bytes.subarray(0, 4)), "E_INVALID_PARAMS");
    await rejects(conn.request({ type: "files.put.commit", upload, hash: blake3(bytes) }), "E_INVALID_PARAMS");
    await rejects(conn.request({ type: "files.put.data", upload, offset: 4 }, new Uint8Array(7)), "E_INVALID_PARAMS");
    const t = upload;
    assert.equal((await conn.request({ type: "files.put.data", upload: t, offset: 4 }, bytes.subarray(4, 7))).header.offset, 7);
    const last = await conn.request({ type: "files.put.data", upload: t, offset: 7 }, bytes.subarray(7));
    assert.equal(last.header.hash, blake3(bytes), "the last slice's reply has the hash of the whole file");
    assert.equal((await conn.request({ type: "files.put.commit", upload: t, hash: blake3(bytes) })).header.fileSize, 10);
  });

  test("upload() resumes after a dropped connection: resumedFrom > 0, and the file is whole and verified", async () => {
    const bytes = randomBytes(20 * 1024 * 1024);
    const file = new File([bytes], "resume.bin", { lastModified: 1_700_000_123_000 });
    const first = await session();
    let dropped = 0;
    await rejects(
      new FilesClient(first).upload(file, "resume.bin", {
        onProgress: ({ sent }) => {
          if (sent >= 6 * 1024 * 1024 && dropped === 0) {
            dropped = sent;
            first.close();
          }
        },
      }),
      "E_CONNECTION_CLOSED",
    );
    assert.ok(dropped > 0);
    const second = await session();
    // The server ends the first upload (its lock released) once it sees the close: a begin may meet E_BUSY briefly.
    let result;
    for (let attempt = 0; ; attempt += 1) {
      try {
        result = await new FilesClient(second).upload(file, "resume.bin");
        break;
      } catch (err) {
        if (!(err instanceof WharfError && err.code === "E_BUSY") || attempt > 50) throw err;
        await sleep(100);
      }
    }
    assert.ok(result.resumedFrom >= dropped, `resumed from ${result.resumedFrom}, ${dropped} were acknowledged`);
    assert.equal(result.sent, bytes.length - result.resumedFrom);
    assert.equal(result.hash, blake3(bytes));
    assert.equal((await new FilesClient(second).stat("resume.bin", { hash: true })).hash, blake3(bytes));
  });

  test("upload() of a changed file under the same name starts over (another stamp), not onto the old partial", async () => {
    const conn = await session();
    const files = new FilesClient(conn);
    const a = randomBytes(3 * 1024 * 1024);
    const b = randomBytes(3 * 1024 * 1024);
    const abort = new AbortController();
    await rejects(
      files.upload(new File([a], "v.bin", { lastModified: 1 }), "v.bin", { signal: abort.signal, onProgress: ({ sent }) => sent >= 1024 * 1024 && abort.abort() }),
      "E_CANCELLED",
    );
    await sleep(200);
    const result = await files.upload(new File([b], "v.bin", { lastModified: 2 }), "v.bin");
    assert.equal(result.resumedFrom, 0);
    assert.equal(result.hash, blake3(b));
  });

  test("ChatClient: a page and a TCP client talk both ways, in order, and history and who answer", async () => {
    const conn = await session();
    const chat = new ChatClient(conn);
    const seen: ChatMessage[] = [];
    chat.onMessage((m) => seen.push(m));
    await chat.join("lobby");
    const tcp = await tcpConnect(serve.tcpUrl);
    try {
      await tcpLogin(tcp, "bob", PASSWORD);
      const other = new TcpChatClient(tcp);
      const heard: ReceivedMessage[] = [];
      other.on("message", (m: ReceivedMessage) => heard.push(m));
      await other.join("lobby");
      assert.deepEqual((await chat.who("lobby")).sort(), ["alice", "bob"]);
      for (let i = 0; i < 5; i += 1) await other.send("lobby", `from tcp ${i}`);
      for (let i = 0; i < 5; i += 1) await chat.send("lobby", `from page ${i} <img src=x onerror=alert(1)>`);
      await waitFor(() => seen.length >= 10 && heard.length >= 10);
      const expected = [...Array.from({ length: 5 }, (_, i) => `from tcp ${i}`), ...Array.from({ length: 5 }, (_, i) => `from page ${i} <img src=x onerror=alert(1)>`)];
      assert.deepEqual(seen.map((m) => m.text), expected);
      assert.deepEqual(heard.map((m) => m.text), expected);
      assert.deepEqual(seen.map((m) => m.from), [..."bbbbb"].map(() => "bob").concat([..."aaaaa"].map(() => "alice")));
      const history = await chat.history("lobby");
      assert.deepEqual(history.messages.map((m) => m.text), expected);
    } finally {
      await tcp.close();
    }
  });

  test("ChatClient.reconnecting(): after the connection drops, it reconnects and replays what was missed, nothing twice", async () => {
    const conns: BrowserConnection[] = [];
    const chat = ChatClient.reconnecting(async () => {
      const conn = await session();
      conns.push(conn);
      return conn;
    }, { delay: 100 });
    const seen: ChatMessage[] = [];
    chat.onMessage((m) => seen.push(m));
    const states: string[] = [];
    chat.onState((s) => states.push(s));
    try {
      await chat.join("ops");
      const sender = await session("bob");
      const other = new ChatClient(sender);
      await other.join("ops");
      await other.send("ops", "one");
      await waitFor(() => seen.length === 1);
      conns[0].close(); // as if the network went away
      await other.send("ops", "two (while away)");
      await other.send("ops", "three (while away)");
      await waitFor(() => states.includes("connected") && seen.length >= 3);
      await other.send("ops", "four");
      await chat.send("ops", "five, from the page");
      await waitFor(() => seen.length >= 5);
      await sleep(200);
      assert.deepEqual(seen.map((m) => m.text), ["one", "two (while away)", "three (while away)", "four", "five, from the page"]);
      assert.ok(conns.length >= 2);
    } finally {
      chat.close();
    }
  });

  test("ExecClient: echo prints hi with exit 0; a failing command reports its code; a user without the right gets E_FORBIDDEN", async () => {
    const conn = await session();
    const hi = await runUntilNotBusy(conn, ["echo", "hi"]);
    assert.deepEqual(hi, { text: "hi\n", exitCode: 0 });
    const failing = await runUntilNotBusy(conn, ["sh", "-c", "echo oops >&2; exit 3"]);
    assert.deepEqual(failing, { text: "oops\n", exitCode: 3 });
    const bob = await session("bob");
    await rejects(new ExecClient(bob).run(["echo", "hi"]).done, "E_FORBIDDEN");
  });

  test("ExecClient: a line sent to stdin reaches the command", async () => {
    const conn = await session();
    let text = "";
    const run = new ExecClient(conn).run(["head", "-n", "1"], { onOutput: (_s, bytes) => void (text += new TextDecoder().decode(bytes)) });
    assert.ok(run.runId > 0);
    assert.equal(await run.stdin("typed in a page\n"), true);
    assert.deepEqual(await run.done, { exitCode: 0 });
    assert.equal(text, "typed in a page\n");
  });

  test("RpcClient: list() names math.add with its schema; call() adds, streams and fails with the server's code", async () => {
    const conn = await session();
    const rpc = new RpcClient(conn);
    const methods = await rpc.list();
    const add = methods.find((m) => m.name === "math.add");
    assert.ok(add !== undefined && add.params !== undefined, JSON.stringify(methods));
    assert.equal(await rpc.call("math.add", [2, 3]), 5);
    const items: unknown[] = [];
    assert.deepEqual(await rpc.call("demo.count", [4], { onItem: (item) => void items.push(item) }), [0, 1, 2, 3]);
    assert.deepEqual(items, [0, 1, 2, 3]);
    const echoed = (await rpc.call("echo", [{ data: Uint8Array.of(1, 2, 3) }])) as { data: Uint8Array };
    assert.deepEqual([...echoed.data], [1, 2, 3]);
    await rejects(rpc.call("no.such.method", []), "E_NO_METHOD");
    await rejects(rpc.call("math.add", ["a"]), "E_INVALID_PARAMS");
  });

  test("time(): the server's clock (the same machine's) within a few ms, with a delay", async () => {
    const conn = await session();
    const reading = await time(conn);
    assert.ok(Math.abs(reading.offset) < 50, `offset ${reading.offset} ms`);
    assert.ok(reading.delay >= 0 && reading.delay < 1_000, `delay ${reading.delay} ms`);
    assert.ok(Math.abs(reading.serverTime - Date.now()) < 1_000);
  });

  test("the server's fatal error frame closes the connection and becomes the reason of what was pending", async () => {
    // A client allowed larger headers than the server: the gateway answers E_FRAME_TOO_LARGE (fatal) and closes.
    const conn = await connect(serve.wsUrl, { WebSocket, maxHeaderSize: 1024 * 1024 });
    open.push(conn);
    const reasons: (WharfError | undefined)[] = [];
    conn.onClose((err) => reasons.push(err));
    await rejects(conn.request({ type: "ping", pad: "x".repeat(100_000) }), "E_FRAME_TOO_LARGE");
    await waitFor(() => conn.closed && reasons.length === 1);
    assert.equal(reasons[0]?.code, "E_FRAME_TOO_LARGE");
    await rejects(conn.request({ type: "ping" }), "E_FRAME_TOO_LARGE");
  });
});

async function runUntilNotBusy(conn: BrowserConnection, argv: string[]): Promise<{ text: string; exitCode: number | null }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    let text = "";
    try {
      const outcome = await new ExecClient(conn).run(argv, { stdin: false, onOutput: (_s, bytes) => void (text += new TextDecoder().decode(bytes)) }).done;
      return { text, exitCode: outcome.exitCode };
    } catch (err) {
      if (!(err instanceof WharfError && err.code === "E_EXEC_BUSY") || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await sleep(20);
  }
}
