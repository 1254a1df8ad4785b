import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { describe, test, type TestContext } from "node:test";
import { pino } from "pino";
import { connect } from "../../src/client/index.js";
import { HttpGateway } from "../../src/gateway/index.js";
import { Readiness, registerHealthRoutes } from "../../src/gateway/health-routes.js";
import { WharfMetrics } from "../../src/gateway/metrics.js";
import { Server } from "../../src/server/index.js";
import type { ProxyProtocolOptions } from "../../src/server/proxy-accept.js";
import { chatChannel, execChannel, filesChannel, redisChannel } from "../../src/services/shared/channels.js";
import { parsePrometheus, sumOf } from "../helpers/prometheus.js";
import { proxyV2 } from "../helpers/proxy-header.js";

const silent = pino({ level: "silent" });

async function startNode(t: TestContext, proxyProtocol?: ProxyProtocolOptions) {
  const server = new Server({ logger: silent });
  server.handle("whoami", (_h, _b, ctx) => ({ header: { address: ctx.peer.address } }));
  const metrics = new WharfMetrics(server);
  const readiness = new Readiness();
  const gateway = new HttpGateway(server, { logger: silent, proxyProtocol });
  registerHealthRoutes(gateway, { readiness, metricsText: () => metrics.registry.metrics(), metricsContentType: metrics.registry.contentType });
  const http = await gateway.listen({ host: "127.0.0.1", port: 0 });
  const tcp = await server.listenTcp({ host: "127.0.0.1", port: 0 });
  t.after(async () => {
    metrics.close();
    server.destroy();
    await gateway.close();
  });
  return { server, metrics, readiness, gateway, http, tcp };
}

/** One raw HTTP/1.1 exchange (optionally after a PROXY header in the same write); resolves the whole answer. */
async function rawHttp(url: string, request: string, prefix: Buffer = Buffer.alloc(0), localAddress = "127.0.0.1"): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = netConnect({ host: hostname, port: Number(port), localAddress });
  await once(socket, "connect");
  socket.write(Buffer.concat([prefix, Buffer.from(request)]));
  let text = "";
  socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
  socket.on("error", () => {});
  await once(socket, "close");
  return text;
}

describe("health routes", () => {
  test("/healthz answers 200; /readyz 200, then 503 while draining or while a dependency is down", async (t) => {
    const { http, readiness } = await startNode(t);
    assert.equal((await fetch(`${http}/healthz`)).status, 200);
    assert.equal((await fetch(`${http}/readyz`)).status, 200);
    let redisUp = true;
    readiness.dependency("redis", () => redisUp);
    redisUp = false;
    const down = await fetch(`${http}/readyz`);
    assert.equal(down.status, 503);
    assert.equal(await down.text(), "not ready: redis unreachable\n");
    redisUp = true;
    assert.equal((await fetch(`${http}/readyz`)).status, 200);
    readiness.draining = true;
    const draining = await fetch(`${http}/readyz`);
    assert.equal(draining.status, 503);
    assert.equal(await draining.text(), "not ready: draining\n");
    assert.equal((await fetch(`${http}/healthz`)).status, 200, "alive while draining");
    assert.equal((await fetch(`${http}/readyz`, { method: "POST" })).status, 405);
  });

  test("/metrics is Prometheus text whose counters move with the traffic", async (t) => {
    const { http, tcp } = await startNode(t);
    const scrape = async () => {
      const res = await fetch(`${http}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await res.text());
    };
    const before = await scrape();
    assert.equal(before.types.get("wharf_requests_total"), "counter");
    assert.equal(before.types.get("wharf_request_duration_seconds"), "histogram");
    const conn = await connect(tcp);
    for (let i = 0; i < 25; i += 1) await conn.request("ping", {}, Buffer.alloc(1000));
    await conn.request("nope", {}).catch(() => {});
    const during = await scrape();
    assert.equal(sumOf(during.samples, "wharf_connections_open", { transport: "tcp" }), 1);
    await conn.close();
    chatChannel.publish({ event: "delivered" });
    chatChannel.publish({ event: "slow-consumer" });
    filesChannel.publish({ event: "upload", bytes: 4096 });
    execChannel.publish({ event: "run" });
    redisChannel.publish({ event: "command", ok: true, durationMs: 0.2 });
    redisChannel.publish({ event: "command", ok: false, durationMs: 50 });
    const after = await scrape();
    const s = after.samples;
    assert.equal(sumOf(s, "wharf_requests_total", { type: "ping", code: "ok" }), 25);
    assert.equal(sumOf(s, "wharf_requests_total", { type: "(other)", code: "E_UNKNOWN_TYPE" }), 1, "a type the server does not serve is counted as (other)");
    assert.equal(sumOf(s, "wharf_request_duration_seconds_count", { type: "ping" }), 25);
    assert.equal(sumOf(s, "wharf_request_duration_seconds_bucket", { type: "ping", le: "+Inf" }), 25);
    assert.equal(sumOf(s, "wharf_connections_opened_total", { transport: "tcp" }), 1);
    assert.equal(sumOf(s, "wharf_connections_open", { transport: "tcp" }), 0);
    assert.ok(sumOf(s, "wharf_received_bytes_total") >= 25_000, "bytes in counted");
    assert.ok(sumOf(s, "wharf_sent_bytes_total") >= 25_000, "bytes out counted");
    assert.equal(sumOf(s, "wharf_chat_deliveries_total"), 1);
    assert.equal(sumOf(s, "wharf_chat_slow_consumer_cuts_total"), 1);
    assert.equal(sumOf(s, "wharf_upload_bytes_total"), 4096);
    assert.equal(sumOf(s, "wharf_exec_runs_total"), 1);
    assert.equal(sumOf(s, "wharf_redis_commands_total"), 2);
    assert.equal(sumOf(s, "wharf_redis_errors_total"), 1);
  });
});

describe("HttpGateway with proxyProtocol", () => {
  test("a trusted balancer's PROXY header and request in one write are served (a health check as HAProxy sends it)", async (t) => {
    const { http } = await startNode(t, { trusted: ["127.0.0.1"] });
    const answer = await rawHttp(http, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", proxyV2("203.0.113.9", "10.0.0.1", 5555, 80));
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /\r\n\r\nready\n$/);
  });

  test("an untrusted address, or a trusted one without a header, gets no answer", async (t) => {
    const { http } = await startNode(t, { trusted: ["127.0.0.1"] });
    const request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert.equal(await rawHttp(http, request, proxyV2("203.0.113.9", "10.0.0.1", 5555, 80), "127.0.0.2"), "");
    assert.equal(await rawHttp(http, request), "");
  });

  test("a WebSocket through the balancer sees the client named by the header", async (t) => {
    const { http } = await startNode(t, { trusted: ["127.0.0.1"] });
    const key = Buffer.from("0123456789abcdef").toString("base64");
    const { hostname, port } = new URL(http);
    const socket = netConnect({ host: hostname, port: Number(port) });
    await once(socket, "connect");
    socket.write(Buffer.concat([
      proxyV2("198.51.100.23", "10.0.0.1", 4321, 80),
      Buffer.from(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wharf\r\n\r\n`),
    ]));
    t.after(() => socket.destroy());
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    const deadline = Date.now() + 5_000;
    while (!received.includes("\r\n\r\n") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.match(received.toString("latin1"), /^HTTP\/1\.1 101 /);
    received = Buffer.alloc(0);
    // One masked binary message: the frame of `whoami`.
    const { encodeFrame } = await import("../../src/wire/index.js");
    const payload = encodeFrame({ type: "whoami", id: 1 });
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
    socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | payload.length]), mask, masked]));
    while (!received.toString("latin1").includes("198.51.100.23") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.match(received.toString("latin1"), /"address":"198\.51\.100\.23"/);
    socket.destroy(); // before the gateway closes: a peer that never answers the close handshake holds it 30 s
  });
});
