import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { WharfError } from "../../../src/errors/index.js";
import { AccountStore, hashToken, issueToken } from "../../../src/services/accounts/index.js";
import { RedisAccountStore } from "../../../src/services/accounts/redis-store.js";
import { RedisLoginThrottle } from "../../../src/services/accounts/redis-throttle.js";
import { RedisTokenStore } from "../../../src/services/accounts/redis-tokens.js";
import { openRedis, type RedisLink } from "../../../src/services/shared/redis.js";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";

const logger = pino({ level: "silent" });

async function ready(link: RedisLink): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!link.ready) {
    if (Date.now() > deadline) throw new Error("redis not ready");
    await sleep(20);
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof WharfError ? err.code : `${(err as Error).name}: ${(err as Error).message}`;
  }
  return "none";
}

describe("accounts, tokens and throttles in a real Redis", () => {
  let redis: RedisServer;
  let one: RedisLink;
  let two: RedisLink;
  let dataDir: string;

  before(async () => {
    redis = await startRedis();
    one = openRedis(redis.url, logger, { maxReconnectDelay: 100 });
    two = openRedis(redis.url, logger, { maxReconnectDelay: 100 });
    await ready(one);
    await ready(two);
    dataDir = mkdtempSync(join(tmpdir(), "wharf-redis-accounts-"));
  });
  after(async () => {
    await one?.close();
    await two?.close();
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("RedisAccountStore: a change through one node is seen by another at once, with the file store's errors", async () => {
    const a = new RedisAccountStore(one, dataDir);
    const b = new RedisAccountStore(two, dataDir);
    assert.ok(a instanceof AccountStore, "every service typed on AccountStore takes it");
    await a.add("dora", "pw1", { quota: 1000 });
    assert.deepEqual({ ...(await b.get("dora")), created: "" }, { name: "dora", quota: 1000, canExec: false, created: "" });
    await assert.rejects(b.add("dora", "x"), { name: "TypeError", message: /already exists/ });
    await assert.rejects(b.add("bad name", "x"), TypeError);
    assert.equal((await b.verify("dora", "pw1"))?.name, "dora");
    assert.equal(await b.verify("dora", "nope"), null);
    assert.equal(await b.verify("nobody", "pw1"), null);
    await b.setPassword("dora", "pw2");
    assert.equal(await a.verify("dora", "pw1"), null);
    assert.equal((await a.verify("dora", "pw2"))?.name, "dora");
    assert.deepEqual(await a.setOptions("dora", { quota: null, canExec: true }).then((x) => [x.quota, x.canExec]), [null, true]);
    assert.deepEqual((await b.list()).map((x) => x.name), ["dora"]);
    await assert.rejects(a.setOptions("ghost", { canExec: true }), { message: /no such user/ });
    await b.remove("dora");
    assert.equal(await a.get("dora"), undefined);
    await assert.rejects(a.remove("dora"), { message: /no such user/ });
  });

  test("importUsersFile copies what Redis lacks once; a user removed later stays removed", async () => {
    const files = new AccountStore(dataDir);
    await files.add("erin", "pw-erin");
    await files.add("finn", "pw-finn", { canExec: true });
    const a = new RedisAccountStore(one, dataDir);
    await a.add("finn", "already-in-redis");
    assert.equal(await a.importUsersFile(), 1, "only erin was missing");
    assert.equal((await a.verify("erin", "pw-erin"))?.name, "erin", "the scrypt hash travelled as it was");
    assert.equal((await a.verify("finn", "already-in-redis"))?.name, "finn", "what Redis had is kept");
    await a.remove("erin");
    assert.equal(await new RedisAccountStore(two, dataDir).importUsersFile(), -1, "a second node finds it done");
    assert.equal(await a.get("erin"), undefined);
    await a.remove("finn");
  });

  test("RedisTokenStore: tokens shared by nodes, revoked at once, expired by Redis", async () => {
    const a = new RedisTokenStore(one);
    const b = new RedisTokenStore(two);
    const { token, record } = await issueToken(a, "gail", 60_000);
    assert.deepEqual(await b.find(hashToken(token)), record);
    const short = await issueToken(a, "gail", 300);
    assert.equal((await b.listUser("gail")).length, 2);
    assert.equal(await b.remove(hashToken(token)), true);
    assert.equal(await a.find(hashToken(token)), undefined, "revoked through one node, gone for the other");
    assert.equal(await b.remove(hashToken(token)), false);
    await sleep(500);
    assert.equal(await a.find(hashToken(short.token)), undefined, "expired");
    assert.equal(await one.client.exists(`wharf:token:${short.record.hash}`), 0, "Redis dropped the expired token itself");
    assert.deepEqual(await b.listUser("gail"), []);
    await issueToken(a, "gail", 60_000);
    await issueToken(a, "gail", 60_000);
    assert.equal(await b.removeUser("gail"), 2);
    assert.deepEqual(await a.listUser("gail"), []);
  });

  test("RedisLoginThrottle: failures counted on two nodes add up; a success clears the pair", async () => {
    const options = { userFreeFailures: 3, addressFreeFailures: 10, baseDelay: 1_000 };
    const a = new RedisLoginThrottle(one, options);
    const b = new RedisLoginThrottle(two, options);
    await a.failed("10.0.0.1", "hank");
    await b.failed("10.0.0.1", "hank");
    assert.equal(await a.waitFor("10.0.0.1", "hank"), 0);
    await a.failed("10.0.0.1", "hank");
    const wait = await b.waitFor("10.0.0.1", "hank");
    assert.ok(wait > 0 && wait <= 1_000, `the third failure, on another node, makes the pair wait (${wait} ms)`);
    assert.equal(await b.waitFor("10.0.0.2", "hank"), 0, "other addresses are not affected");
    assert.equal(await b.waitFor("10.0.0.1", "ivy"), 0, "other names from that address still have their allowance");
    await b.succeeded("10.0.0.1", "hank");
    assert.equal(await a.waitFor("10.0.0.1", "hank"), 0);
  });

  test("while Redis is down: logins fail fast with E_UNAVAILABLE, a known account is still answered; all recovers", async () => {
    const a = new RedisAccountStore(one, dataDir);
    await a.add("jack", "pw-jack");
    assert.equal((await a.get("jack"))?.name, "jack");
    await redis.stop();
    const started = Date.now();
    assert.equal(await codeOf(a.verify("jack", "pw-jack")), "E_UNAVAILABLE");
    assert.equal(await codeOf(new RedisLoginThrottle(one).waitFor("10.0.0.1", "jack")), "E_UNAVAILABLE");
    assert.equal(await codeOf(new RedisTokenStore(one).find("00")), "E_UNAVAILABLE");
    assert.ok(Date.now() - started < 1_500, "fast");
    assert.equal((await a.get("jack"))?.name, "jack", "the copy read last answers");
    assert.equal(await codeOf(a.get("never-seen")), "E_UNAVAILABLE");
    await redis.restart();
    await ready(one);
    assert.equal((await a.verify("jack", "pw-jack"))?.name, "jack", "kept by the append-only file");
  });
});
