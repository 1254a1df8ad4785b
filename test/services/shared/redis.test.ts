import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { WharfError } from "../../../src/errors/index.js";
import { guardRedis, isRedisDown, openRedis, parseRedisUrl, redisUnavailable, type RedisLink } from "../../../src/services/shared/redis.js";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";

const logger = pino({ level: "silent" });

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("openRedis() against a real redis-server", () => {
  let redis: RedisServer;
  let link: RedisLink;

  before(async () => {
    redis = await startRedis();
    link = openRedis(redis.url, logger, { commandTimeout: 500, maxReconnectDelay: 200 });
    await until(() => link.ready, 10_000, "ready");
  });
  after(async () => {
    await link?.close();
    await redis?.dispose();
  });

  test("runs commands once ready", async () => {
    await link.client.set("wharf:test:k", "v");
    assert.equal(await link.client.get("wharf:test:k"), "v");
  });

  test("a command fails fast with E_UNAVAILABLE while Redis is down, and works again once it is back", async () => {
    const changes: boolean[] = [];
    const off = link.onReadyChange((ready) => changes.push(ready));
    const sub = link.subscriber();
    const heard: string[] = [];
    sub.on("message", (_channel: string, message: string) => heard.push(message));
    await sub.subscribe("wharf:test:chan");
    await redis.stop();
    await until(() => !link.ready, 10_000, "not ready");
    const started = Date.now();
    await assert.rejects(guardRedis(link.client.get("wharf:test:k")), (err: unknown) => {
      assert.ok(err instanceof WharfError);
      assert.equal(err.code, "E_UNAVAILABLE");
      return true;
    });
    assert.ok(Date.now() - started < 1_000, `failed within a second (took ${Date.now() - started} ms)`);
    await redis.restart();
    await until(() => link.ready, 10_000, "ready again");
    assert.equal(await link.client.get("wharf:test:k"), "v", "the append-only file kept the key over the restart");
    // The subscriber subscribes again by itself after the reconnection.
    await until(async () => {
      await link.client.publish("wharf:test:chan", "hello");
      return heard.includes("hello");
    }, 10_000, "a message on the resubscribed channel");
    assert.deepEqual(changes.slice(0, 2), [false, true]);
    off();
  });

  test("a refused command is not taken for an outage", async () => {
    await link.client.set("wharf:test:str", "x");
    await assert.rejects(guardRedis(link.client.hget("wharf:test:str", "f")), (err: unknown) => {
      assert.ok(!(err instanceof WharfError), "WRONGTYPE is a bug, not E_UNAVAILABLE");
      assert.equal(isRedisDown(err), false);
      return true;
    });
    assert.equal(redisUnavailable(new Error("x")).code, "E_UNAVAILABLE");
  });
});

describe("parseRedisUrl()", () => {
  test("takes redis:// and rediss:// URLs with host, port, database and credentials", () => {
    assert.deepEqual(parseRedisUrl("redis://127.0.0.1:6380/2"), { host: "127.0.0.1", port: 6380, db: 2 });
    const tls = parseRedisUrl("rediss://u:p%40ss@example.com");
    assert.equal(tls.port, 6379);
    assert.equal(tls.password, "p@ss");
    assert.equal(tls.username, "u");
    assert.deepEqual(tls.tls, {});
  });

  test("refuses other schemes and paths with a TypeError naming the URL", () => {
    assert.throws(() => parseRedisUrl("http://127.0.0.1:6379"), { name: "TypeError", message: /redis:\/\/ or rediss:\/\// });
    assert.throws(() => parseRedisUrl("redis://127.0.0.1/x"), TypeError);
    assert.throws(() => parseRedisUrl("not a url"), TypeError);
  });
});
