import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_TYPES, OTHER_TYPE, RESERVOIR_SIZE, StatsWindow } from "../../../src/services/stats/index.js";

describe("StatsWindow", () => {
  test("counts per type, errors, rates over the interval, and nearest-rank percentiles", () => {
    const window = new StatsWindow((type) => type === "ping" || type === "files.get");
    for (let i = 1; i <= 100; i += 1) window.record("ping", null, i);
    window.record("files.get", "E_NOT_FOUND", 500);
    const cut = window.cut(2_000);
    assert.deepEqual(cut.byType, { "files.get": { count: 1, errors: 1, perSecond: 0.5 }, ping: { count: 100, errors: 0, perSecond: 50 } });
    assert.equal(cut.requests, 101);
    assert.equal(cut.errors, 1);
    assert.equal(cut.requestsPerSecond, 50.5);
    assert.deepEqual(cut.latencyMs, { p50: 51, p90: 91, p99: 100 });
    const next = window.cut(1_000);
    assert.equal(next.byType.ping.count, 100, "totals carry on");
    assert.equal(next.byType.ping.perSecond, 0, "rates start again");
    assert.deepEqual(next.latencyMs, { p50: 0, p90: 0, p99: 0 });
    assert.equal(next.samples, 0);
  });

  test("memory stays bounded: the latency sample keeps at most RESERVOIR_SIZE, made-up types fall into (other)", () => {
    const window = new StatsWindow((type) => type.startsWith("known."));
    for (let i = 0; i < 50_000; i += 1) window.record(`made-up-${i}`, "E_UNKNOWN_TYPE", i % 10);
    for (let i = 0; i < MAX_TYPES * 2; i += 1) window.record(`known.${i}`, null, 1);
    const cut = window.cut(1_000);
    assert.equal(cut.samples, RESERVOIR_SIZE);
    assert.equal(cut.requestsPerSecond, 50_000 + MAX_TYPES * 2);
    assert.ok(Object.keys(cut.byType).length <= MAX_TYPES, `${Object.keys(cut.byType).length} rows`);
    assert.ok(cut.byType[OTHER_TYPE].count >= 50_000);
    assert.equal(cut.byType[OTHER_TYPE].errors, 50_000);
    assert.ok(cut.latencyMs.p99 <= 9);
  });
});
