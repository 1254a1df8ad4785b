import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { describe, test } from "node:test";
import { connect } from "../../src/client/index.js";
import { runWharf, startServe, tempDir } from "../helpers/cli.js";
import { proxiedGet } from "../helpers/cluster.js";
import { parsePrometheus, sumOf } from "../helpers/prometheus.js";
import { proxyV2 } from "../helpers/proxy-header.js";
import { encodeFrame, FrameDecoder } from "../../src/wire/index.js";

describe("wharf serve --proxy-protocol, health and metrics", () => {
  const refused: [string[], RegExp][] = [
    [["--proxy-protocol"], /--proxy-protocol needs --trusted-proxy/],
    [["--trusted-proxy", "127.0.0.1"], /--trusted-proxy needs --proxy-protocol/],
    [["--proxy-protocol", "--trusted-proxy", "localhost"], /--trusted-proxy: a trusted proxy must be an IP address or a CIDR block/],
    [["--proxy-protocol", "--trusted-proxy", "10.0.0.0/40"], /prefix length/],
  ];
  for (const [args, message] of refused) {
    test(`serve ${args.join(" ")} is a usage error`, async (t) => {
      const run = await runWharf(["serve", "--data", tempDir(t), "--port", "0", ...args], { timeout: 20_000 });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  test("/healthz, /readyz and /metrics on the HTTP port; with --workers 2 /metrics sums every worker", async (t) => {
    const serve = await startServe(t, ["--workers", "2", "--no-udp", "--proxy-protocol", "--trusted-proxy", "127.0.0.1", "--drain-delay", "0"]);
    const http = new URL(serve.url("http"));
    const get = (path: string) => proxiedGet(http.hostname, Number(http.port), path);
    assert.equal((await get("/healthz")).status, 200);
    assert.equal((await get("/readyz")).status, 200);
    // Through a pretend balancer: a connection from 127.0.0.1 must start with a PROXY header; the client sends one.
    const tcp = new URL(serve.url("tcp"));
    let answered = 0;
    for (let i = 0; i < 12; i += 1) {
      // A new connection each time: the cluster primary hands them to both workers.
      const socket = netConnect({ host: tcp.hostname, port: Number(tcp.port) });
      await once(socket, "connect");
      const decoder = new FrameDecoder({ onFrame: () => void (answered += 1) });
      socket.on("data", (chunk: Buffer) => decoder.push(chunk));
      socket.write(Buffer.concat([proxyV2("192.0.2.1", "192.0.2.2", 1000 + i, 9000), encodeFrame({ type: "ping", id: 1 })]));
      const deadline = Date.now() + 5_000;
      while (answered <= i && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      socket.destroy();
    }
    assert.equal(answered, 12);
    const first = await get("/metrics");
    assert.equal(first.status, 200);
    const samples = parsePrometheus(first.body).samples;
    assert.equal(sumOf(samples, "wharf_requests_total", { type: "ping", code: "ok" }), 12, "both workers' pings, whichever answered the scrape");
    assert.equal(sumOf(samples, "wharf_connections_opened_total", { transport: "tcp" }), 12);
    const direct = await connect(serve.url("tcp")).then(
      (conn) => conn.request("ping", {}).finally(() => conn.destroy()),
      (err: unknown) => Promise.reject(err),
    ).catch((err: { code?: string }) => err.code);
    assert.equal(direct, "E_PROXY_HEADER", "a client that skips the balancer is refused");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  test("SIGTERM: /readyz says 503 for the drain delay while requests are still served, then the server stops", async (t) => {
    const serve = await startServe(t, ["--no-udp", "--drain-delay", "1.5"]);
    const http = serve.url("http");
    assert.equal((await fetch(`${http}/readyz`)).status, 200);
    const conn = await connect(serve.url("tcp"));
    t.after(() => conn.destroy());
    const exited = once(serve.child, "exit");
    serve.child.kill("SIGTERM");
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i += 1) status = (await fetch(`${http}/readyz`)).status;
    assert.equal(status, 503);
    assert.equal((await fetch(`${http}/healthz`)).status, 200, "alive while draining");
    assert.equal((await conn.request("ping", {}, Buffer.from("still"))).body.toString(), "still");
    const [code] = await exited;
    assert.equal(code, 0, serve.stderr());
  });
});
