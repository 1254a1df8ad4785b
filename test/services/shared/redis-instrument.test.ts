import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, test } from "node:test";
import { pino } from "pino";
import { openRedis } from "../../../src/services/shared/redis.js";
import { instrumentRedis } from "../../../src/services/shared/redis-instrument.js";
import { WharfMetrics } from "../../../src/gateway/metrics.js";
import { startRedis } from "../../helpers/redis-server.js";
import { parsePrometheus, sumOf } from "../../helpers/prometheus.js";

describe("instrumentRedis()", () => {
  test("every round trip to a real Redis is counted on wharf:redis, failures as errors, and reaches /metrics", async (t) => {
    const redis = await startRedis({ appendonly: false });
    t.after(() => redis.dispose());
    const link = openRedis(redis.url, pino({ level: "silent" }), { commandTimeout: 500 });
    t.after(() => link.close());
    instrumentRedis(link.client);
    instrumentRedis(link.client); // twice: still one count per command
    const seen: { ok: boolean }[] = [];
    const listener = (message: unknown): void => void seen.push(message as { ok: boolean });
    subscribe("wharf:redis", listener);
    t.after(() => unsubscribe("wharf:redis", listener));
    const metrics = new WharfMetrics();
    t.after(() => metrics.close());
    for (let i = 0; i < 50 && !link.ready; i += 1) await new Promise((r) => setTimeout(r, 20));
    assert.ok(link.ready);
    await link.client.set("k", "v");
    assert.equal(await link.client.get("k"), "v");
    await link.client.pipeline().incr("n").incr("n").exec();
    await link.client.hget("k", "f").catch(() => {}); // WRONGTYPE: an error reply
    assert.deepEqual(seen.map((m) => [(m as { command?: string }).command, m.ok]), [["set", true], ["get", true], ["incr", true], ["incr", true], ["hget", false]]);
    const samples = parsePrometheus(await metrics.registry.metrics()).samples;
    assert.equal(sumOf(samples, "wharf_redis_commands_total"), 5);
    assert.equal(sumOf(samples, "wharf_redis_errors_total"), 1);
  });
});
