import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry, type Metric } from "prom-client";
import { RequestTallies } from "../../src/server/request-tallies.js";
import { WharfError } from "../../src/errors/index.js";
import { WharfMetrics } from "../../src/gateway/metrics.js";
import { Server } from "../../src/server/index.js";
import { connect } from "../../src/client/index.js";

describe("request metrics as plain tallies", () => {
  test("render as a Prometheus counter and a histogram with cumulative buckets, _sum and _count", async () => {
    const tallies = new RequestTallies([0.001, 0.01]);
    const registry = new Registry();
    registry.registerMetric(tallies.requestsMetric() as unknown as Metric);
    registry.registerMetric(tallies.durationMetric() as unknown as Metric);
    tallies.record("ping", null, 0.5); // 0.0005 s: first bucket
    tallies.record("ping", null, 5); // 0.005 s: second bucket
    tallies.record("ping", "E_X", 50); // 0.05 s: +Inf only
    const text = await registry.metrics();
    assert.match(text, /^wharf_requests_total\{type="ping",code="ok"\} 2$/m);
    assert.match(text, /^wharf_requests_total\{type="ping",code="E_X"\} 1$/m);
    assert.match(text, /^wharf_request_duration_seconds_bucket\{le="0.001",type="ping"\} 1$/m);
    assert.match(text, /^wharf_request_duration_seconds_bucket\{le="0.01",type="ping"\} 2$/m);
    assert.match(text, /^wharf_request_duration_seconds_bucket\{le="\+Inf",type="ping"\} 3$/m);
    assert.match(text, /^wharf_request_duration_seconds_count\{type="ping"\} 3$/m);
    assert.match(text, /^# TYPE wharf_request_duration_seconds histogram$/m);
  });

  test("a client's made-up types count as (other): the metrics of a server stay bounded", async (t) => {
    const server = new Server();
    const metrics = new WharfMetrics(server);
    t.after(() => metrics.close());
    const url = await server.listenTcp({ host: "127.0.0.1", port: 0 });
    t.after(() => server.destroy());
    const conn = await connect(url);
    await conn.request("ping");
    for (let i = 0; i < 50; i += 1) await conn.request(`made.up.${i}`).catch(() => {});
    await conn.close();
    const text = await metrics.registry.metrics();
    assert.match(text, /wharf_requests_total\{type="ping",code="ok"\} 1/);
    assert.match(text, /wharf_requests_total\{type="\(other\)",code="E_UNKNOWN_TYPE"\} 50/);
    assert.doesNotMatch(text, /made\.up/);
  });

  test("a server counts its requests in place: answers of one chunk, later answers, failures and refusals", async (t) => {
    const server = new Server();
    server.handle("sync", () => ({}));
    server.handle("slow", async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return {};
    });
    server.handle("fails", () => {
      throw new WharfError("E_NOT_FOUND", "nothing here");
    });
    const tallies = new RequestTallies([0.025, 10]);
    const stop = server.countRequests(tallies);
    const url = await server.listenTcp({ host: "127.0.0.1", port: 0 });
    t.after(() => server.destroy());
    const conn = await connect(url);
    t.after(() => conn.close());
    // Sent in one tick, so most of them reach the server in one chunk and share one clock reading.
    await Promise.all(Array.from({ length: 32 }, () => conn.request("sync")));
    await conn.request("slow");
    await conn.request("fails").catch(() => {});
    await conn.request("no.such.type").catch(() => {});
    const registry = new Registry();
    registry.registerMetric(tallies.requestsMetric() as unknown as Metric);
    registry.registerMetric(tallies.durationMetric() as unknown as Metric);
    const text = await registry.metrics();
    assert.match(text, /^wharf_requests_total\{type="sync",code="ok"\} 32$/m);
    assert.match(text, /^wharf_request_duration_seconds_count\{type="sync"\} 32$/m);
    assert.match(text, /^wharf_request_duration_seconds_bucket\{le="0.025",type="sync"\} 32$/m, "a synchronous answer takes well under 25 ms");
    assert.match(text, /^wharf_request_duration_seconds_bucket\{le="0.025",type="slow"\} 0$/m, "the 30 ms handler is timed to its answer");
    assert.match(text, /^wharf_request_duration_seconds_bucket\{le="10",type="slow"\} 1$/m);
    assert.match(text, /^wharf_requests_total\{type="fails",code="E_NOT_FOUND"\} 1$/m);
    assert.match(text, /^wharf_requests_total\{type="\(other\)",code="E_UNKNOWN_TYPE"\} 1$/m);
    assert.throws(() => server.countRequests(new RequestTallies([1])), /already counted/);
    stop();
    await conn.request("sync");
    assert.match(await registry.metrics(), /^wharf_requests_total\{type="sync",code="ok"\} 32$/m, "nothing is counted once stopped");
    const again = new RequestTallies([1]);
    server.countRequests(again)();
  });
});
