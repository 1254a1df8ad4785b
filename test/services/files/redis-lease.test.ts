import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { WharfError } from "../../../src/errors/index.js";
import { RedisLease, RedisNameLocks } from "../../../src/services/files/redis-lease.js";
import { openRedis, type RedisLink } from "../../../src/services/shared/redis.js";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";

const logger = pino({ level: "silent" });
const DATA = "/srv/wharf-data";
const lockPath = (name: string): string => `${DATA}/homes/alice/.wharf/partials/${name}.lock`;

async function ready(link: RedisLink): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!link.ready) {
    if (Date.now() > deadline) throw new Error("redis not ready");
    await sleep(20);
  }
}

function codeOf(err: unknown): string {
  assert.ok(err instanceof WharfError, `a WharfError, not ${String(err)}`);
  return err.code;
}

describe("RedisNameLocks: upload name leases in a real Redis", () => {
  let redis: RedisServer;
  let nodeA: RedisLink;
  let nodeB: RedisLink;

  before(async () => {
    redis = await startRedis();
    nodeA = openRedis(redis.url, logger, { maxReconnectDelay: 100 });
    nodeB = openRedis(redis.url, logger, { maxReconnectDelay: 100 });
    await ready(nodeA);
    await ready(nodeB);
  });
  after(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await redis?.dispose();
  });

  test("one holder at a time, keyed by the partial's path inside the data folder; fencing tokens only grow", async () => {
    const a = new RedisNameLocks(nodeA, DATA);
    const b = new RedisNameLocks(nodeB, DATA);
    const first = (await a.acquire(lockPath("one"))) as RedisLease;
    assert.ok(first !== null);
    assert.equal(await b.acquire(lockPath("one")), null, "another node cannot take a held name");
    assert.equal(await b.isFree(lockPath("one")), false);
    assert.equal(await nodeB.client.exists("wharf:lease:homes/alice/.wharf/partials/one.lock"), 1);
    const other = (await b.acquire(lockPath("two"))) as RedisLease;
    assert.ok(other !== null, "other names are independent");
    await first.release();
    await first.release(); // idempotent
    assert.equal(await b.isFree(lockPath("one")), true);
    const second = (await b.acquire(lockPath("one"))) as RedisLease;
    assert.ok(second.fence > first.fence, `fence ${second.fence} > ${first.fence}`);
    await first.confirm().then(
      () => assert.fail("a released lease must not confirm"),
      (err: unknown) => assert.equal(codeOf(err), "E_BUSY"),
    );
    await second.confirm();
    await Promise.all([second.release(), other.release()]);
  });

  test("a held lease is renewed while it lives; a holder that stops renewing lets go after one TTL", async () => {
    const a = new RedisNameLocks(nodeA, DATA, { ttl: 600 });
    const b = new RedisNameLocks(nodeB, DATA, { ttl: 600 });
    const held = await a.acquire(lockPath("renewed"));
    assert.ok(held !== null);
    await sleep(1_500); // more than two TTLs: only renewals keep it
    assert.equal(held.lost, false);
    assert.equal(await b.acquire(lockPath("renewed")), null, "still held thanks to the renewals");
    await held.release();
    // A node that dies holding a lease: its key is not renewed (set it by hand, as a dead node leaves it).
    await nodeA.client.set("wharf:lease:homes/alice/.wharf/partials/orphan.lock", "1 dead-node", "PX", 600);
    assert.equal(await b.acquire(lockPath("orphan")), null);
    await sleep(800);
    const taken = await b.acquire(lockPath("orphan"));
    assert.ok(taken !== null, "taken over once the dead holder's TTL ran out");
    await taken.release();
  });

  test("a lease taken over by another holder is lost: confirm() refuses and lost turns true", async () => {
    const a = new RedisNameLocks(nodeA, DATA, { ttl: 5_000 });
    const held = await a.acquire(lockPath("stolen"));
    assert.ok(held !== null);
    await nodeB.client.set("wharf:lease:homes/alice/.wharf/partials/stolen.lock", "999999 other-node", "PX", 5_000);
    await held.confirm().then(
      () => assert.fail("must not confirm"),
      (err: unknown) => assert.equal(codeOf(err), "E_BUSY"),
    );
    assert.equal(held.lost, true);
    await held.release(); // does not delete the new holder's key
    assert.equal(await nodeB.client.get("wharf:lease:homes/alice/.wharf/partials/stolen.lock"), "999999 other-node");
  });

  test("while Redis is down: acquire fails fast with E_UNAVAILABLE, a held lease is lost after its TTL; after, leases work again", async () => {
    const a = new RedisNameLocks(nodeA, DATA, { ttl: 600 });
    const held = await a.acquire(lockPath("outage"));
    assert.ok(held !== null);
    await redis.stop();
    const started = Date.now();
    await a.acquire(lockPath("outage-2")).then(
      () => assert.fail("must fail"),
      (err: unknown) => assert.equal(codeOf(err), "E_UNAVAILABLE"),
    );
    assert.ok(Date.now() - started < 1_500, "failed fast");
    assert.equal(await a.isFree(lockPath("outage-2")), false, "unknown counts as held: the sweep leaves partials alone");
    await sleep(700);
    assert.equal(held.lost, true, "no renewal for a whole TTL: the holder must stop writing");
    await held.release();
    await redis.restart();
    await ready(nodeA);
    const again = await a.acquire(lockPath("outage-3"));
    assert.ok(again !== null);
    await again.release();
  });

  test("refuses a TTL below 300 ms", () => {
    assert.throws(() => new RedisNameLocks(nodeA, DATA, { ttl: 10 }), RangeError);
  });
});
