import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { pino } from "pino";
import { buildServerWithServices } from "../../src/cli/serve-lifecycle.js";
import { redisOf } from "../../src/cli/serve-redis.js";
import { RedisAccountStore } from "../../src/services/accounts/redis-store.js";
import { startRedis } from "../helpers/redis-server.js";
import { serveOptionsFor } from "../helpers/serve-process.js";

test("buildServerWithServices() with --redis wires the Redis stores and closes the link after the services", async (t) => {
  const redis = await startRedis();
  const dataDir = mkdtempSync(join(tmpdir(), "wharf-redis-wiring-"));
  t.after(async () => {
    await redis.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const { options, unknown } = await serveOptionsFor(["--data", dataDir, "--redis", redis.url]);
  assert.deepEqual(unknown, []);
  const { server, services } = buildServerWithServices(options, pino({ level: "silent" }));
  const link = redisOf(services);
  assert.ok(link !== undefined, "services.get(\"redis\") holds the link");
  const deadline = Date.now() + 10_000;
  while (!link.ready && Date.now() < deadline) await sleep(20);
  assert.equal(link.ready, true);
  await new RedisAccountStore(link, dataDir).add("kim", "pw-kim");
  assert.deepEqual(await link.client.smembers("wharf:users"), ["kim"]);
  await server.close();
  await services.close();
  assert.equal(link.ready, false, "closed with the services");
  const without = buildServerWithServices((await serveOptionsFor(["--data", dataDir])).options, pino({ level: "silent" }));
  assert.equal(redisOf(without.services), undefined, "no link without --redis");
  await without.server.close();
  await without.services.close();
});
