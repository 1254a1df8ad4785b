import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { describe, test, type TestContext } from "node:test";
import { Connection, connect, udpRequest, WharfError } from "../../../src/client/index.js";
import { AccountStore, LoginThrottle, currentUser, login, registerAuth } from "../../../src/services/accounts/index.js";
import { runWharf, tempDir, WHARF_BIN } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WharfError, String(err));
    return err.code;
  }
  return "none";
}

describe("AccountStore", () => {
  test("stores only a salted scrypt hash and verifies passwords", async (t) => {
    const dir = tempDir(t);
    const store = new AccountStore(dir);
    await store.add("alice", "correct horse", { quota: 1000, canExec: true });
    await store.add("bob", "correct horse");
    const text = readFileSync(join(dir, "users.json"), "utf8");
    assert.doesNotMatch(text, /correct horse/);
    const hashes = [...text.matchAll(/"hash": "(scrypt\$[^"]+)"/g)].map((m) => m[1]);
    assert.equal(hashes.length, 2);
    assert.notEqual(hashes[0], hashes[1], "same password, different salt");
    assert.deepEqual(await store.verify("alice", "correct horse"), (await store.list())[0]);
    assert.equal(await store.verify("alice", "wrong"), null);
    assert.equal(await store.verify("nobody", "correct horse"), null);
    await store.setPassword("alice", "new one");
    assert.equal(await store.verify("alice", "correct horse"), null);
    assert.equal((await store.verify("alice", "new one"))?.quota, 1000);
    await store.remove("bob");
    assert.deepEqual((await store.list()).map((a) => a.name), ["alice"]);
  });

  test("refuses bad names, empty passwords and duplicates", async (t) => {
    const store = new AccountStore(tempDir(t));
    await assert.rejects(store.add("../etc", "x"), TypeError);
    await assert.rejects(store.add("ok", ""), TypeError);
    await store.add("ok", "x");
    await assert.rejects(store.add("ok", "y"), /already exists/);
    await assert.rejects(store.remove("ghost"), /no such user/);
  });
});

describe("LoginThrottle", () => {
  test("lets a few failures pass, then imposes doubling waits, and a success clears the pair", () => {
    const throttle = new LoginThrottle({ userFreeFailures: 2, addressFreeFailures: 100, baseDelay: 100, maxDelay: 350 });
    throttle.failed("10.0.0.1", "alice", 0);
    assert.equal(throttle.waitFor("10.0.0.1", "alice", 0), 0);
    throttle.failed("10.0.0.1", "alice", 0);
    assert.equal(throttle.waitFor("10.0.0.1", "alice", 0), 100);
    throttle.failed("10.0.0.1", "alice", 0);
    assert.equal(throttle.waitFor("10.0.0.1", "alice", 0), 200);
    throttle.failed("10.0.0.1", "alice", 0);
    assert.equal(throttle.waitFor("10.0.0.1", "alice", 0), 350);
    assert.equal(throttle.waitFor("10.0.0.1", "bob", 0), 0, "the pair is throttled, not the address (100 free)");
    assert.equal(throttle.waitFor("10.0.0.2", "alice", 0), 0, "nor the user from elsewhere");
    assert.equal(throttle.waitFor("10.0.0.1", "alice", 200), 150, "the wait runs from the last failure");
    throttle.succeeded("10.0.0.1", "alice");
    assert.equal(throttle.waitFor("10.0.0.1", "alice", 0), 0);
  });

  test("failures for many names throttle the address, and a success does not wash them away", () => {
    const throttle = new LoginThrottle({ userFreeFailures: 100, addressFreeFailures: 3, baseDelay: 1_000 });
    for (const user of ["a", "b", "carol"]) throttle.failed("10.0.0.1", user, 0);
    assert.equal(throttle.waitFor("10.0.0.1", "dave", 0), 1_000, "three failures, whatever the names");
    throttle.succeeded("10.0.0.1", "carol");
    assert.equal(throttle.waitFor("10.0.0.1", "dave", 0), 1_000, "one valid account does not clear a guessing address");
    assert.equal(throttle.waitFor("10.0.0.9", "dave", 0), 0);
    assert.equal(throttle.waitFor("10.0.0.1", "dave", 15 * 60_000 + 1), 0, "failures are forgotten after 15 minutes");
  });

  test("memory stays bounded under a spray of names and addresses", () => {
    const throttle = new LoginThrottle({ maxKeys: 1_000 });
    for (let i = 0; i < 20_000; i += 1) throttle.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `user${i}`, i);
    assert.deepEqual(throttle.size, { addresses: 1_000, pairs: 1_000, queues: 0 });
    for (let i = 0; i < 5_000; i += 1) throttle.failed("10.9.9.9", "x".repeat(60_000) + i, 30_000);
    assert.equal(throttle.size.pairs, 1_000);
    assert.ok(throttle.waitFor("10.9.9.9", "y".repeat(50_000), 30_000) > 0, "names that cannot exist share one key, and the address is throttled");
    assert.equal(throttle.waitFor("10.0.78.31", "user19999", 19_999), 0, "the newest spray entries are kept and still below their allowance");
    assert.ok(throttle.waitFor("10.9.9.9", "alice", 30_000) > 0);
  });

  test("attempt() runs as many attempts at once as failures are left, queues the rest, and other addresses beside them", async () => {
    const throttle = new LoginThrottle({ addressFreeFailures: 2, userFreeFailures: 5 });
    let running = 0;
    let most = 0;
    const log: string[] = [];
    const attempt = (name: string, ms: number, fail: boolean) => async () => {
      running += 1;
      most = Math.max(most, running);
      log.push(`${name}+`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running -= 1;
      log.push(`${name}-`);
      if (fail) {
        throttle.failed(name[0] === "a" ? "A" : "B", "u");
        throw new Error(`${name} failed`);
      }
      return name;
    };
    const a = ["a1", "a2", "a3", "a4"].map((name) => throttle.attempt("A", "u", attempt(name, 20, true)));
    const b = throttle.attempt("B", "u", attempt("b1", 5, false));
    const results = await Promise.allSettled([...a, b]);
    assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected", "rejected", "rejected", "fulfilled"], "a failure does not stop the queue");
    assert.deepEqual(log.slice(0, 3).sort(), ["a1+", "a2+", "b1+"], "A ran two at once (its two free failures), B beside them");
    assert.ok(log.indexOf("a3+") > log.indexOf("a1-"), "a3 waited for a slot");
    assert.ok(log.indexOf("a4+") > log.indexOf("a3-"), "with no failures left, A's attempts ran one at a time");
    assert.equal(most, 3);
    assert.equal(throttle.size.queues, 0, "nothing is left behind");
  });

  test("attempt(): many correct logins from one address run concurrently up to the allowance", async () => {
    const throttle = new LoginThrottle({ addressFreeFailures: 10, userFreeFailures: 3 });
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        throttle.attempt("A", `user${i}`, async () => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 10));
          running -= 1;
        }),
      ),
    );
    assert.equal(most, 10, "ten at once (the address's free failures), not one at a time");
  });
});

/** A connection to `url` from another loopback address (Linux routes all of 127.0.0.0/8 to lo). */
async function connectFrom(t: TestContext, url: string, localAddress: string): Promise<Connection> {
  const { port } = new URL(url);
  const socket = netConnect({ host: "127.0.0.1", port: Number(port), localAddress, allowHalfOpen: true });
  await once(socket, "connect");
  const conn = new Connection(socket, { label: `${url} from ${localAddress}` });
  t.after(() => conn.destroy());
  return conn;
}

describe("auth over the wire", () => {
  test("a connection acts as the user it logged in as; wrong passwords get E_AUTH, then E_AUTH_THROTTLED", async (t) => {
    const store = new AccountStore(tempDir(t));
    await store.add("alice", "pw");
    const { url, udpUrl } = await startServer(t, {}, (server) => {
      registerAuth(server, store, { throttle: { userFreeFailures: 2, addressFreeFailures: 2, baseDelay: 60_000 } });
      server.handle("whoami", (_h, _b, ctx) => ({ header: { user: currentUser(ctx).name } }));
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    assert.equal(await codeOf(conn.request("whoami")), "E_AUTH");
    assert.equal(await codeOf(login(conn, "alice", "nope")), "E_AUTH");
    assert.equal(await codeOf(login(conn, "ghost", "pw")), "E_AUTH");
    assert.equal(await codeOf(login(conn, "alice", "pw")), "E_AUTH_THROTTLED", "this peer failed twice");
    const other = await connect(url);
    t.after(() => other.destroy());
    assert.equal(await codeOf(login(other, "alice", "pw")), "E_AUTH_THROTTLED", "the throttle is per peer, not per connection");
    assert.equal(await codeOf(udpRequest(udpUrl, "auth", { user: "alice", password: "pw" })), "E_FORBIDDEN");
  });

  test("failures from one address cannot lock a user out from another (issue 11, case 8)", async (t) => {
    const store = new AccountStore(tempDir(t));
    await store.add("alice", "pw");
    await store.add("bob", "pw");
    const { url } = await startServer(t, {}, (server) => {
      registerAuth(server, store, { throttle: { userFreeFailures: 3, addressFreeFailures: 5, baseDelay: 60_000 } });
    });
    const attacker = await connectFrom(t, url, "127.0.0.2");
    const codes: string[] = [];
    for (let i = 0; i < 5; i += 1) codes.push(await codeOf(login(attacker, "alice", `guess${i}`)));
    assert.deepEqual(codes, ["E_AUTH", "E_AUTH", "E_AUTH", "E_AUTH_THROTTLED", "E_AUTH_THROTTLED"]);
    const throttled = await login(attacker, "alice", "pw").catch((err: WharfError) => err);
    assert.ok(throttled instanceof WharfError && throttled.code === "E_AUTH_THROTTLED", "even the right password waits at 127.0.0.2");
    const retry = (throttled.data as { retryAfterMs: number }).retryAfterMs;
    assert.ok(retry > 50_000 && retry <= 60_000, `retryAfterMs ${retry}`);

    const started = Date.now();
    const owner = await connectFrom(t, url, "127.0.0.3");
    assert.deepEqual(await login(owner, "alice", "pw"), { user: "alice", canExec: false });
    assert.ok(Date.now() - started < 2_000, "at once, not after a wait");

    assert.equal(await codeOf(login(attacker, "bob", "wrong")), "E_AUTH", "another name: the address has failed 3 times of 5 allowed");
    assert.equal(await codeOf(login(attacker, "nobody", "wrong")), "E_AUTH");
    assert.equal(await codeOf(login(attacker, "bob", "pw")), "E_AUTH_THROTTLED", "now the address itself waits, whatever the name");
    const bob = await connectFrom(t, url, "127.0.0.3");
    assert.equal((await login(bob, "bob", "pw")).user, "bob", "and bob still logs in from elsewhere");
  });

  test("pipelined guesses cannot all be checked before the first failure counts", async (t) => {
    const store = new AccountStore(tempDir(t));
    await store.add("alice", "pw");
    const { url } = await startServer(t, {}, (server) => {
      registerAuth(server, store, { throttle: { userFreeFailures: 3, baseDelay: 60_000 } });
    });
    const attacker = await connectFrom(t, url, "127.0.0.4");
    const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => codeOf(login(attacker, "alice", `guess${i}`))));
    assert.deepEqual(codes, [...Array<string>(3).fill("E_AUTH"), ...Array<string>(17).fill("E_AUTH_THROTTLED")]);
  });

  test("many correct logins at once from one address are all let in", async (t) => {
    const store = new AccountStore(tempDir(t));
    await store.add("alice", "pw");
    const { url } = await startServer(t, {}, (server) => {
      registerAuth(server, store, { throttle: { userFreeFailures: 3, addressFreeFailures: 3, baseDelay: 60_000 } });
    });
    const pool = await Promise.all(Array.from({ length: 12 }, () => connectFrom(t, url, "127.0.0.5")));
    const logins = await Promise.all(pool.map((conn) => login(conn, "alice", "pw")));
    assert.deepEqual(new Set(logins.map((l) => l.user)), new Set(["alice"]));
    assert.equal(logins.length, 12);
  });

  test("login succeeds with the right password", async (t) => {
    const store = new AccountStore(tempDir(t));
    await store.add("carol", "pw", { canExec: true });
    const { url } = await startServer(t, {}, (server) => {
      registerAuth(server, store);
      server.handle("whoami", (_h, _b, ctx) => ({ header: { user: currentUser(ctx).name } }));
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    assert.deepEqual(await login(conn, "carol", "pw"), { user: "carol", canExec: true });
    assert.equal((await conn.request("whoami")).header.user, "carol");
  });
});

describe("wharf user", () => {
  test("add, list, passwd and remove with --password-stdin", async (t) => {
    const data = tempDir(t);
    const add = await runWharf(["user", "add", "dave", "--data", data, "--quota", "10M", "--can-exec", "--password-stdin"], { input: "pw1\n" });
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, `added user dave to ${data}\n`);
    const list = await runWharf(["user", "list", "--data", data, "--json"]);
    assert.deepEqual(JSON.parse(list.stdout), { ...JSON.parse(list.stdout), name: "dave", quota: 10 * 1024 * 1024, canExec: true });
    const again = await runWharf(["user", "add", "dave", "--data", data, "--password-stdin"], { input: "x\n" });
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `wharf: E_EXISTS: user dave already exists in ${join(data, "users.json")}\n`);
    assert.equal((await runWharf(["user", "passwd", "dave", "--data", data, "--password-stdin"], { input: "pw2\n" })).code, 0);
    const store = new AccountStore(data);
    assert.equal(await store.verify("dave", "pw1"), null);
    assert.ok(await store.verify("dave", "pw2"));
    assert.equal((await runWharf(["user", "remove", "dave", "--data", data])).code, 0);
    assert.deepEqual(await store.list(), []);
  });

  test("without a terminal and without --password-stdin, add refuses with one line", async (t) => {
    const result = await runWharf(["user", "add", "erin", "--data", tempDir(t)]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, "wharf: E_USAGE: no terminal to ask for the password: use --password-stdin\n");
  });

  test("on a terminal, add asks for the password twice without echoing it", async (t) => {
    const data = tempDir(t);
    const driver = new URL("../../../../test/helpers/pty_run.py", import.meta.url).pathname;
    const script = JSON.stringify([["New password for frank", "hunter22"], ["Repeat it", "hunter22"]]);
    const run = spawnSync("python3", [driver, script, process.execPath, WHARF_BIN, "user", "add", "frank", "--data", data], { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /New password for frank: /);
    assert.match(run.stdout, /Repeat it: /);
    assert.doesNotMatch(run.stdout, /hunter22/, "the password is not echoed");
    assert.ok(await new AccountStore(data).verify("frank", "hunter22"));
  });
});
