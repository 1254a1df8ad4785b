import assert from "node:assert/strict";
import { once } from "node:events";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect, udpRequest } from "../../src/client/index.js";
import { runWharf, startServe, tempDir } from "../helpers/cli.js";

const fixturePath = (name: string): string => new URL(`../../../test/fixtures/${name}`, import.meta.url).pathname;

describe("wharf serve", () => {
  test("prints every address as URLs on its first line (the web app's last) and serves TCP and UDP", async (t) => {
    const serve = await startServe(t);
    assert.match(serve.addresses.join(" "), /^tcp:\/\/127\.0\.0\.1:\d+ udp:\/\/127\.0\.0\.1:\d+ http:\/\/127\.0\.0\.1:\d+$/);
    const conn = await connect(serve.url("tcp"));
    assert.equal((await conn.request("ping", {}, Buffer.from("tcp"))).body.toString(), "tcp");
    await conn.close();
    assert.equal((await udpRequest(serve.url("udp"), "ping", {}, Buffer.from("udp"))).body.toString(), "udp");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  test("listens on IPv6 and a Unix socket, and exits 0 on SIGINT", async (t) => {
    const dir = tempDir(t);
    const socketPath = join(dir, "w.sock");
    const serve = await startServe(t, ["--host", "::1", "--unix", socketPath, "--no-udp", "--no-http"]);
    assert.equal(serve.addresses.length, 2);
    for (const url of serve.addresses) {
      const conn = await connect(url);
      assert.equal((await conn.request("ping", {}, Buffer.from(url))).body.toString(), url);
      await conn.close();
    }
    assert.equal(await serve.stop("SIGINT"), 0);
  });

  test("serves TLS with --tls-cert and --tls-key, and HTTPS and WSS on the HTTP port", async (t) => {
    const serve = await startServe(t, ["--tls-cert", fixturePath("cert.pem"), "--tls-key", fixturePath("key.pem"), "--no-udp"]);
    const ca = readFileSync(fixturePath("cert.pem"));
    const conn = await connect(serve.url("tls"), { tls: { ca } });
    assert.equal((await conn.request("ping", {}, Buffer.from("tls"))).body.toString(), "tls");
    await conn.close();
    // The same certificate serves the web app's port: a WebSocket over TLS carries the same frames.
    const { default: WebSocket } = await import("ws");
    const { encodeFrame } = await import("../../src/wire/index.js");
    const ws = new WebSocket(`${serve.url("https").replace(/^https/, "wss")}/ws`, ["wharf"], { ca });
    await once(ws, "open");
    ws.send(encodeFrame({ type: "ping", id: 1 }, Buffer.from("wss")));
    const [message] = (await once(ws, "message")) as [Buffer];
    assert.equal(message.subarray(message.length - 3).toString(), "wss");
    assert.match(message.toString("latin1", 4, 4 + message.readUInt32BE(0)), /"id":1,"ok":true/);
    ws.close();
    await once(ws, "close");
    assert.equal(await serve.stop(), 0);
  });

  test("--workers 2 serves TCP from two processes and shuts them all down gracefully", async (t) => {
    const serve = await startServe(t, ["--workers", "2"]);
    const workers = execFileSync("ps", ["-o", "pid=", "--ppid", String(serve.child.pid)]).toString().trim().split(/\s+/);
    assert.equal(workers.length, 2);
    const conns = await Promise.all(Array.from({ length: 8 }, () => connect(serve.url("tcp"))));
    const replies = await Promise.all(conns.map((conn, i) => conn.request("ping", {}, Buffer.from(`c${i}`))));
    replies.forEach((reply, i) => assert.equal(reply.body.toString(), `c${i}`));
    await Promise.all(conns.map((conn) => conn.close()));
    assert.equal((await udpRequest(serve.url("udp"), "ping", {}, Buffer.from("u"))).body.toString(), "u");
    assert.equal(await serve.stop(), 0);
    for (const pid of workers) {
      assert.throws(() => process.kill(Number(pid), 0), "worker process is gone");
    }
  });

  test("offers the demo RPC methods only with --rpc-demo, over TCP and UDP", async (t) => {
    const plain = await startServe(t);
    const bare = await connect(plain.url("tcp"));
    t.after(() => bare.destroy());
    const listOf = async (conn: typeof bare): Promise<string[]> => {
      const reply = await conn.request("jsonrpc", {}, Buffer.from('{"jsonrpc":"2.0","method":"rpc.list","id":1}'));
      return (JSON.parse(reply.body.toString()) as { result: { name: string }[] }).result.map((m) => m.name);
    };
    assert.deepEqual(await listOf(bare), ["health.check", "rpc.list"]);
    const udpCall = await udpRequest(plain.url("udp"), "jsonrpc", {}, Buffer.from('{"jsonrpc":"2.0","method":"math.add","params":[1,2],"id":1}'));
    assert.equal((JSON.parse(udpCall.body.toString()) as { error: { code: number } }).error.code, -32601, "no such method over UDP either");
    assert.equal(await plain.stop(), 0);

    const demo = await startServe(t, ["--rpc-demo"]);
    const conn = await connect(demo.url("tcp"));
    t.after(() => conn.destroy());
    assert.deepEqual(await listOf(conn), ["demo.count", "echo", "health.check", "math.add", "rpc.list"]);
    const added = await conn.request("jsonrpc", {}, Buffer.from('{"jsonrpc":"2.0","method":"math.add","params":[1,2],"id":1}'));
    assert.equal((JSON.parse(added.body.toString()) as { result: number }).result, 3);
    assert.equal(await demo.stop(), 0);
  });

  test("--gc incremental serves as well; an unknown --gc mode fails with one line", async (t) => {
    const serve = await startServe(t, ["--gc", "incremental", "--no-udp"]);
    const conn = await connect(serve.url("tcp"));
    const body = Buffer.alloc(64 * 1024, 7);
    const replies = await Promise.all(Array.from({ length: 64 }, () => conn.request("ping", {}, body)));
    for (const reply of replies) assert.deepEqual(reply.body, body);
    await conn.close();
    assert.equal(await serve.stop(), 0);
    const result = await runWharf(["serve", "--port", "0", "--gc", "fast"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr.trim(), /^wharf: .*--gc.*fast/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  test("refuses --tls-cert without --tls-key with one line and no stack trace", async () => {
    const result = await runWharf(["serve", "--port", "0", "--tls-cert", "x.pem"]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stderr.trim(), "wharf: E_USAGE: --tls-cert and --tls-key go together");
  });

  test("a port already in use fails with one line", async (t) => {
    const serve = await startServe(t, ["--no-udp"]);
    const port = new URL(serve.url("tcp").replace("tcp:", "http:")).port;
    const result = await runWharf(["serve", "--port", port, "--no-udp", "--data", join(tempDir(t), "d")]);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^wharf: E_LOCAL_IO: listen EADDRINUSE: /);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  test("an HTTP port already in use ends the command too: it does not stay up serving TCP without saying so", { timeout: 30_000 }, async (t) => {
    const serve = await startServe(t, ["--no-udp"]);
    const httpPort = new URL(serve.addresses.find((url) => url.startsWith("http:"))!).port;
    const result = await runWharf(["serve", "--port", "0", "--http-port", httpPort, "--no-udp", "--data", join(tempDir(t), "d")], { timeout: 15_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr.trim(), /^wharf: E_LOCAL_IO: listen EADDRINUSE: .*:\d+$/);
    assert.equal(result.stdout, "", "it never said it was listening");
  });

  test("with --workers, a port in use ends the command once: one line, exit 1, no worker left behind", { timeout: 30_000 }, async (t) => {
    const serve = await startServe(t, ["--no-udp"]);
    const httpPort = new URL(serve.addresses.find((url) => url.startsWith("http:"))!).port;
    const data = join(tempDir(t), "workers-data");
    const result = await runWharf(["serve", "--port", "0", "--http-port", httpPort, "--no-udp", "--workers", "2", "--data", data], { timeout: 15_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^wharf: E_LOCAL_IO: bind EADDRINUSE .*:\d+\n$/, "one line for both workers");
    assert.equal(result.stdout, "");
    // A live process has its command line in /proc (a zombie's is empty): none may still name this data folder.
    const left = readdirSync("/proc").filter((pid) => /^\d+$/.test(pid) && (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(data);
      } catch {
        return false;
      }
    })());
    assert.deepEqual(left, [], "no primary or worker left running");
  });
});

describe("wharf ping", () => {
  test("prints each round trip and a min/avg/max summary", async (t) => {
    const serve = await startServe(t);
    for (const url of [serve.url("tcp"), serve.url("udp")]) {
      const result = await runWharf(["ping", url, "--count", "3", "--size", "100", "--interval", "0.01"]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split("\n");
      assert.equal(lines[0], `PING ${url}: 100 bytes of body`);
      for (let seq = 1; seq <= 3; seq += 1) {
        assert.match(lines[seq], new RegExp(`^100 bytes from ${url.replace(/[.[\]]/g, "\\$&")}: seq=${seq} time=\\d+\\.\\d{3} ms$`));
      }
      assert.match(lines[5], /^3 sent, 3 received, 0% loss, time \d+ ms$/);
      assert.match(lines[6], /^rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms$/);
    }
  });

  test("fails with one line when nothing listens", async () => {
    const result = await runWharf(["ping", "tcp://127.0.0.1:1", "--count", "1"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^wharf: E_CONNECT: cannot connect to tcp:\/\/127\.0\.0\.1:1/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  test("reports loss and fails when a UDP server does not answer", async () => {
    const result = await runWharf(["ping", "udp://127.0.0.1:9", "--count", "2", "--timeout", "0.1", "--interval", "0"]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /2 sent, 0 received, 100% loss/);
    assert.equal(result.stderr.trim(), "wharf: E_TIMEOUT: no reply from udp://127.0.0.1:9");
  });

  test("refuses a bad URL and a bad count with one line each", async () => {
    const badUrl = await runWharf(["ping", "http://example"]);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr.trim(), /^wharf: E_USAGE: unsupported scheme "http"/);
    const badCount = await runWharf(["ping", "--count", "zero"]);
    assert.notEqual(badCount.code, 0);
    assert.match(badCount.stderr, /--count must be an integer/);
  });
});

describe("wharf --help", () => {
  for (const verb of ["serve", "ping"]) {
    test(`wharf ${verb} --help describes the verb and exits 0`, async () => {
      const result = await runWharf([verb, "--help"]);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^Usage: wharf ${verb}`));
    });
  }

  test("an unknown verb fails with a one-line hint", async () => {
    const result = await runWharf(["fly"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown command 'fly'/);
  });
});
