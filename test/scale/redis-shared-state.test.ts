/**
 * Issue 14, shared state: three `wharf serve --redis` nodes on 127.0.0.2, 127.0.0.3 and 127.0.0.4, one data
 * folder, one real redis-server. Tokens, throttles, accounts and upload leases hold across the nodes; while
 * Redis is down, logins and uploads fail fast with E_UNAVAILABLE and ping, time and file reads go on; once it
 * is back, everything works again without a restart of any node.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { connect, type Connection } from "../../src/client/index.js";
import { login, revokeToken } from "../../src/services/accounts/index.js";
import { FileRequest, putFile } from "../../src/services/files/index.js";
import { runWharf } from "../helpers/cli.js";
import { freePort, startRedis, type RedisServer } from "../helpers/redis-server.js";
import { startRedisNode, type WharfNode } from "../helpers/redis-nodes.js";
import { addUsers } from "../helpers/serve-process.js";
import { blake3File, codeOf } from "../services/files/helpers.js";

const HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

/** Bytes in alice's partial uploads on disk. */
function partialBytes(dataDir: string): number {
  const dir = join(dataDir, "homes", "alice", ".wharf", "partials");
  let total = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!name.endsWith(".part")) continue;
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // landed meanwhile
    }
  }
  return total;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

describe("three wharf serve --redis nodes sharing one Redis and one data folder", { timeout: 300_000 }, () => {
  let redis: RedisServer;
  let dataDir: string;
  let scratch: string;
  const nodes: WharfNode[] = [];
  /** Nodes of one test (killed in it), stopped at the end with the others. */
  const extra: WharfNode[] = [];
  const conns: Connection[] = [];

  async function open(node: WharfNode): Promise<Connection> {
    const conn = await connect(node.tcpUrl, { timeout: 20_000 });
    conns.push(conn);
    return conn;
  }

  before(async () => {
    redis = await startRedis();
    dataDir = mkdtempSync(join(tmpdir(), "wharf-redis-data-"));
    scratch = mkdtempSync(join(tmpdir(), "wharf-redis-scratch-"));
    await addUsers(dataDir, [{ name: "alice", password: "pw-alice" }, { name: "bob", password: "pw-bob" }]);
    for (const host of HOSTS) nodes.push(await startRedisNode(host, dataDir, redis.url));
  });

  after(async () => {
    for (const conn of conns) conn.destroy();
    await Promise.all([...nodes, ...extra].map((node) => node.stop()));
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  test("imports the users of users.json into Redis once, and says so in its log", async () => {
    const imported = (log: string): RegExpMatchArray | null => /imported (\d+) users? of users\.json/.exec(log);
    await until(async () => (nodes.every((node) => /users\.json/.test(node.log())) ? true : undefined), 30_000, "every node to log the import");
    const counts = nodes.map((node) => imported(node.log())).filter((match) => match !== null).map((match) => Number(match![1]));
    assert.deepEqual(counts, [2], "one node imported both users; the others found the import done");
    assert.equal(nodes.filter((node) => /imported into redis before/.test(node.log())).length, 2);
    const listed = await runWharf(["user", "list", "--redis", redis.url, "--data", dataDir, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split("\n").map((line) => (JSON.parse(line) as { name: string }).name), ["alice", "bob"]);
  });

  test("wharf user add/set/rm --redis manage the accounts every node sees", async () => {
    const added = await runWharf(["user", "add", "carol", "--redis", redis.url, "--password-stdin"], { input: "pw-carol\n" });
    assert.equal(added.code, 0, added.stderr);
    for (const node of nodes) assert.equal((await login(await open(node), "carol", "pw-carol")).user, "carol");
    const set = await runWharf(["user", "set", "carol", "--can-exec", "--redis", redis.url]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await login(await open(nodes[1]), "carol", "pw-carol")).canExec, true);
    const removed = await runWharf(["user", "rm", "carol", "--redis", redis.url]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await codeOf(login(await open(nodes[2]), "carol", "pw-carol")), "E_AUTH");
    const missing = await runWharf(["user", "rm", "carol", "--redis", redis.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /E_NOT_FOUND/);
  });

  test("a token issued through one node works on the others; revoked, it fails on all at once", async () => {
    const issued = await login(await open(nodes[0]), { user: "alice", password: "pw-alice", issueToken: true });
    assert.ok(issued.token);
    for (const node of nodes) assert.equal((await login(await open(node), { token: issued.token! })).user, "alice");
    assert.equal(await revokeToken(await open(nodes[2]), issued.token!), true);
    for (const node of nodes) assert.equal(await codeOf(login(await open(node), { token: issued.token! })), "E_AUTH");
  });

  test("five wrong passwords spread over the three nodes trigger E_AUTH_THROTTLED", async () => {
    const codes: string[] = [];
    for (let i = 0; i < 5; i += 1) codes.push(await codeOf(login(await open(nodes[i % 3]), "bob", "wrong")));
    assert.deepEqual(codes.slice(0, 3), ["E_AUTH", "E_AUTH", "E_AUTH"], "three free failures for one name, counted across nodes");
    assert.ok(codes.slice(3).every((code) => code === "E_AUTH_THROTTLED"), `the 4th and 5th are throttled: ${codes.join(" ")}`);
    // The right password waits too, on any node: the pair's count is shared.
    assert.equal(await codeOf(login(await open(nodes[0]), "bob", "pw-bob")), "E_AUTH_THROTTLED");
  });

  test("two nodes racing one upload name: one takes the lease, the other gets E_BUSY", async () => {
    const [a, b] = [await open(nodes[0]), await open(nodes[1])];
    await login(a, "alice", "pw-alice");
    await login(b, "alice", "pw-alice");
    const begin = (conn: Connection) => conn.request(FileRequest.PUT_BEGIN, { path: "race.bin", fileSize: 10, stamp: "s1" });
    const results = await Promise.allSettled([begin(a), begin(b)]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(won.length, 1, "exactly one begin wins");
    assert.equal((lost[0].reason as { code: string }).code, "E_BUSY");
    // Aborted, the lease goes back and the other node may take the name.
    const winner = results[0].status === "fulfilled" ? a : b;
    const loser = winner === a ? b : a;
    const upload = (won[0] as PromiseFulfilledResult<{ header: Record<string, unknown> }>).value.header.upload;
    await winner.request(FileRequest.PUT_ABORT, { upload });
    const again = await begin(loser);
    await loser.request(FileRequest.PUT_ABORT, { upload: again.header.upload });
  });

  test("an upload begun on node A resumes on node B with the right hash", async () => {
    const local = join(scratch, "big.bin");
    writeFileSync(local, randomBytes(48 * 1024 * 1024));
    const stamp = "resume-across-nodes";
    const a = await open(nodes[0]);
    await login(a, "alice", "pw-alice");
    const stop = new AbortController();
    const first = putFile(a, local, "big.bin", {
      stamp,
      delta: false,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.done >= 8 * 1024 * 1024) stop.abort();
      },
    });
    await assert.rejects(first);
    a.destroy();
    const b = await open(nodes[1]);
    await login(b, "alice", "pw-alice");
    // Node A ends the interrupted upload (its lease released) as soon as it sees the cancel; allow a moment.
    const result = await until(async () => putFile(b, local, "big.bin", { stamp, delta: false }), 30_000, "the resume on node B");
    assert.ok(result.resumedFrom > 0, `resumed from ${result.resumedFrom}`);
    assert.equal(result.hash, await blake3File(local));
    const c = await open(nodes[2]);
    await login(c, "alice", "pw-alice");
    const stat = await c.request(FileRequest.STAT, { path: "big.bin" });
    assert.equal(stat.header.size ?? (stat.header.entry as { size?: number } | undefined)?.size, 48 * 1024 * 1024);
  });

  test("kill -9 of the node serving an upload: its lease holds the name until its TTL, then the rerun resumes on another node", async () => {
    const doomed = await startRedisNode("127.0.0.5", dataDir, redis.url);
    extra.push(doomed);
    const local = join(scratch, "killed.bin");
    writeFileSync(local, randomBytes(48 * 1024 * 1024));
    const stamp = "resume-after-kill";
    const conn = await open(doomed);
    await login(conn, "alice", "pw-alice");
    const first = putFile(conn, local, "killed.bin", { stamp, delta: false });
    first.catch(() => {});
    // Killed once bytes are on disk (not merely sent: the node buffers a few MiB before it writes).
    await until(async () => (partialBytes(dataDir) >= 8 * 1024 * 1024 ? true : undefined), 120_000, "8 MiB of the partial on disk");
    doomed.child.kill("SIGKILL");
    await assert.rejects(first);
    const b = await open(nodes[1]);
    await login(b, "alice", "pw-alice");
    const killedAt = Date.now();
    assert.equal(await codeOf(b.request(FileRequest.PUT_BEGIN, { path: "killed.bin", fileSize: 48 * 1024 * 1024, stamp })), "E_BUSY", "the dead node's lease still holds the name");
    const result = await until(async () => putFile(b, local, "killed.bin", { stamp, delta: false }), 60_000, "the resume after the lease's TTL");
    assert.ok(Date.now() - killedAt > 5_000, "the name was held until the lease ran out");
    assert.ok(result.resumedFrom > 0, `resumed from ${result.resumedFrom}`);
    assert.equal(result.hash, await blake3File(local));
  });

  test("Redis stopped: login and upload fail fast with E_UNAVAILABLE, ping, time and file reads go on; Redis back: logins work again", async () => {
    const reader = await open(nodes[0]);
    await login(reader, "alice", "pw-alice");
    await redis.stop();
    const fresh = await open(nodes[1]);
    const started = Date.now();
    assert.equal(await codeOf(login(fresh, "alice", "pw-alice")), "E_UNAVAILABLE");
    assert.ok(Date.now() - started < 3_000, `failed fast (${Date.now() - started} ms)`);
    assert.equal(await codeOf(reader.request(FileRequest.PUT_BEGIN, { path: "down.bin", fileSize: 1, stamp: "x" })), "E_UNAVAILABLE");
    const pong = await reader.request("ping", {}, Buffer.from("hi"));
    assert.equal(pong.body.toString(), "hi");
    const time = await reader.request("time", {});
    assert.equal(typeof time.header.t2, "number", "time answered");
    const stat = await reader.request(FileRequest.STAT, { path: "big.bin" });
    assert.ok(JSON.stringify(stat.header).includes(String(48 * 1024 * 1024)), "files reads keep working");
    await redis.restart();
    const user = await until(async () => (await login(await open(nodes[2]), "alice", "pw-alice")).user, 30_000, "a login once Redis is back");
    assert.equal(user, "alice");
    for (const node of nodes) assert.equal((await login(await open(node), "alice", "pw-alice")).user, "alice");
    assert.ok(nodes.every((node) => /redis is back/.test(node.log())), "every node logged that Redis came back");
  });
});

describe("--redis on the command line", { timeout: 60_000 }, () => {
  test("wharf serve --redis with a URL that is not redis:// is a usage error (exit 2)", async () => {
    const run = await runWharf(["serve", "--port", "0", "--no-udp", "--no-http", "--data", tmpdir(), "--redis", "http://127.0.0.1:1"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /E_USAGE.*--redis/);
  });

  test("wharf user list --redis against no Redis fails with E_UNAVAILABLE (exit 1)", async () => {
    const port = await freePort();
    const run = await runWharf(["user", "list", "--redis", `redis://127.0.0.1:${port}`]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /E_UNAVAILABLE/);
  });
});
