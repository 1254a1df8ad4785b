import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect, udpRequest, WharfError } from "../../../src/client/index.js";
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
  test("lets a few failures pass, then imposes doubling waits, and a success clears them", () => {
    const throttle = new LoginThrottle({ freeFailures: 2, baseDelay: 100, maxDelay: 350 });
    const keys = ["peer:x"];
    throttle.failed(keys, 0);
    assert.equal(throttle.waitFor(keys, 0), 0);
    throttle.failed(keys, 0);
    assert.equal(throttle.waitFor(keys, 0), 100);
    throttle.failed(keys, 0);
    assert.equal(throttle.waitFor(keys, 0), 200);
    throttle.failed(keys, 0);
    assert.equal(throttle.waitFor(keys, 0), 350);
    throttle.succeeded(keys);
    assert.equal(throttle.waitFor(keys, 0), 0);
  });
});

describe("auth over the wire", () => {
  test("a connection acts as the user it logged in as; wrong passwords get E_AUTH, then E_AUTH_THROTTLED", async (t) => {
    const store = new AccountStore(tempDir(t));
    await store.add("alice", "pw");
    const { url, udpUrl } = await startServer(t, {}, (server) => {
      registerAuth(server, store, { throttle: { freeFailures: 2, baseDelay: 60_000 } });
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
    assert.equal(add.stdout, "added user dave\n");
    const list = await runWharf(["user", "list", "--data", data, "--json"]);
    assert.deepEqual(JSON.parse(list.stdout), { ...JSON.parse(list.stdout), name: "dave", quota: 10 * 1024 * 1024, canExec: true });
    const again = await runWharf(["user", "add", "dave", "--data", data, "--password-stdin"], { input: "x\n" });
    assert.equal(again.code, 1);
    assert.equal(again.stderr, "wharf: user dave already exists\n");
    assert.equal((await runWharf(["user", "passwd", "dave", "--data", data, "--password-stdin"], { input: "pw2\n" })).code, 0);
    const store = new AccountStore(data);
    assert.equal(await store.verify("dave", "pw1"), null);
    assert.ok(await store.verify("dave", "pw2"));
    assert.equal((await runWharf(["user", "remove", "dave", "--data", data])).code, 0);
    assert.deepEqual(await store.list(), []);
  });

  test("without a terminal and without --password-stdin, add refuses with one line", async (t) => {
    const result = await runWharf(["user", "add", "erin", "--data", tempDir(t)]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "wharf: no terminal to ask for the password: use --password-stdin\n");
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
