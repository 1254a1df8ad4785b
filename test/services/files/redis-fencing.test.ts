import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test, type TestContext } from "node:test";
import { pino } from "pino";
import { connect } from "../../../src/client/index.js";
import { AccountStore, login, registerAuth } from "../../../src/services/accounts/index.js";
import { FileRequest, registerFiles } from "../../../src/services/files/index.js";
import { RedisNameLocks } from "../../../src/services/files/redis-lease.js";
import { openRedis, type RedisLink } from "../../../src/services/shared/redis.js";
import { tempDir } from "../../helpers/cli.js";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";
import { startServer } from "../../helpers/server.js";
import { codeOf } from "./helpers.js";

const logger = pino({ level: "silent" });

/** A files server whose upload name locks are Redis leases; resolves a logged-in connection to it. */
async function leasedFilesServer(t: TestContext, link: RedisLink) {
  const dataDir = tempDir(t, "wharf-fencing-");
  const accounts = new AccountStore(dataDir);
  await accounts.add("alice", "pw");
  let close = (): Promise<void> => Promise.resolve();
  const { url } = await startServer(t, {}, (server) => {
    registerAuth(server, accounts);
    close = registerFiles(server, { dataDir, accounts, logger, nameLocks: new RedisNameLocks(link, dataDir, { ttl: 5_000 }) }).close;
  });
  t.after(() => close());
  const conn = await connect(url);
  t.after(() => conn.destroy());
  await login(conn, "alice", "pw");
  return { conn, dataDir };
}

/** The lease key of alice's only partial (there is one per test). */
async function leaseKeyOf(link: RedisLink): Promise<string> {
  const keys = (await link.client.keys("wharf:lease:homes/alice/*")).filter((key) => key.endsWith(".lock"));
  assert.equal(keys.length, 1, `one lease: ${keys.join(", ")}`);
  return keys[0];
}

function partialSize(dataDir: string): number {
  const dir = join(dataDir, "homes", "alice", ".wharf", "partials");
  return (existsSync(dir) ? readdirSync(dir) : []).filter((name) => name.endsWith(".part")).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

describe("uploads under a Redis lease: a node that lost the lease writes nothing more", () => {
  let redis: RedisServer;
  let link: RedisLink;

  before(async () => {
    redis = await startRedis();
    link = openRedis(redis.url, logger);
    while (!link.ready) await sleep(20);
  });
  after(async () => {
    await link?.close();
    await redis?.dispose();
  });

  test("files.put.data refuses to write when another holder took the name's lease (E_BUSY), and no byte lands", async (t) => {
    const { conn, dataDir } = await leasedFilesServer(t, link);
    const begin = await conn.request(FileRequest.PUT_BEGIN, { path: "f.bin", fileSize: 1024, stamp: "s1" });
    const key = await leaseKeyOf(link);
    await link.client.set(key, "999999 another-node", "PX", 10_000); // what a takeover after an expiry looks like
    const body = randomBytes(1024);
    assert.equal(await codeOf(conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 0 }, body)), "E_BUSY");
    assert.equal(partialSize(dataDir), 0);
    assert.equal(await link.client.get(key), "999999 another-node", "the new holder's lease is left alone");
    await link.client.del(key);
  });

  test("files.put.commit refuses to land the file when the lease was lost after the bytes were written", async (t) => {
    const { conn, dataDir } = await leasedFilesServer(t, link);
    const begin = await conn.request(FileRequest.PUT_BEGIN, { path: "g.bin", fileSize: 4096, stamp: "s2", hashes: ["sha256"] });
    const body = randomBytes(4096);
    const data = await conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 0 }, body);
    const key = await leaseKeyOf(link);
    await link.client.set(key, "999999 another-node", "PX", 10_000);
    assert.equal(await codeOf(conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, hash: data.header.hash })), "E_BUSY");
    assert.equal(existsSync(join(dataDir, "homes", "alice", "g.bin")), false, "nothing landed under the name");
    await link.client.del(key);
  });

  test("without a takeover, the same upload lands and gives its lease back", async (t) => {
    const { conn, dataDir } = await leasedFilesServer(t, link);
    const begin = await conn.request(FileRequest.PUT_BEGIN, { path: "h.bin", fileSize: 4096, stamp: "s3", hashes: ["sha256"] });
    const data = await conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 0 }, randomBytes(4096));
    await conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, hash: data.header.hash });
    assert.equal(statSync(join(dataDir, "homes", "alice", "h.bin")).size, 4096);
    assert.deepEqual((await link.client.keys("wharf:lease:homes/alice/*")).filter((key) => key.endsWith(".lock")), [], "released");
  });
});
