/**
 * The service contract (issue 11): every service says its name and request types, and its close() lets go of
 * what it holds (commands, upload locks, queued history, in-flight calls) before it resolves. Real servers on
 * loopback, real processes, real files.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { pino } from "pino";
import { connect, WharfError } from "../../src/client/index.js";
import { Server } from "../../src/server/index.js";
import { AccountStore, login, registerAuth } from "../../src/services/accounts/index.js";
import { ChatClient, registerChat } from "../../src/services/chat/index.js";
import { execCommand, registerExec } from "../../src/services/exec/index.js";
import { registerFiles } from "../../src/services/files/index.js";
import { DEFAULT_SERVICE_CONFIG, registerServices, ServiceSet, type Service } from "../../src/services/index.js";
import { registerRpc } from "../../src/services/rpc/index.js";
import { registerTime } from "../../src/services/time/index.js";
import { tempDir } from "../helpers/cli.js";
import { startServer } from "../helpers/server.js";
import { groupMembers } from "./exec/helpers.js";

const silent = pino({ level: "silent" });

async function users(t: Parameters<typeof tempDir>[0]): Promise<{ dataDir: string; accounts: AccountStore }> {
  const dataDir = tempDir(t, "wharf-lifecycle-");
  const accounts = new AccountStore(dataDir);
  await accounts.add("alice", "pw", { canExec: true });
  return { dataDir, accounts };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("the service contract", () => {
  test("registerServices() returns one service per area, and together they name every request type the server answers, once", async (t) => {
    const { dataDir, accounts } = await users(t);
    let services!: ServiceSet;
    const { server } = await startServer(t, {}, (s) => {
      services = registerServices(s, { dataDir, accounts, logger: silent, config: DEFAULT_SERVICE_CONFIG });
    });
    t.after(() => services.close());
    assert.deepEqual([...services].map((s) => s.name).sort(), ["auth", "chat", "exec", "files", "rpc", "stats", "time"]);
    const listed = [...services].flatMap((s) => [...s.types]).sort();
    const builtIn = new Set(new Server().requestTypes()); // ping: the server's own
    assert.deepEqual(listed, server.requestTypes().filter((type) => !builtIn.has(type)), "no type missing, none listed twice");
    assert.deepEqual(services.get("exec")?.types, ["exec.run", "exec.stdin"]);
    assert.deepEqual(services.get("time")?.types, ["time"]);
    assert.deepEqual(services.get("auth")?.types, ["auth", "auth.revoke"]);
  });

  test("ServiceSet.close() awaits every service even when one fails, then throws that failure; a second call gets the same result", async () => {
    const order: string[] = [];
    const slow: Service = { name: "slow", types: [], close: async () => { await sleep(50); order.push("slow"); } };
    const failing: Service = { name: "failing", types: [], close: async () => { order.push("failing"); throw new Error("disk gone"); } };
    let calls = 0;
    const counted: Service = { name: "counted", types: [], close: async () => { calls += 1; } };
    const set = new ServiceSet([slow, failing, counted]);
    const first = set.close();
    await assert.rejects(first, /disk gone/);
    assert.deepEqual(order, ["failing", "slow"], "the slow one was awaited although another had failed");
    await assert.rejects(set.close(), /disk gone/);
    assert.equal(calls, 1, "close() of each service ran once");
    const two = new ServiceSet([failing, { ...failing, name: "failing2" }]);
    await assert.rejects(two.close(), (err: unknown) => err instanceof AggregateError && err.errors.length === 2);
  });

  test("exec's close() kills a running command that ignores SIGTERM and resolves only once its whole group is gone", async (t) => {
    const { dataDir, accounts } = await users(t);
    let exec!: Service;
    const { server, url } = await startServer(t, {}, (s) => {
      registerAuth(s, accounts);
      exec = registerExec(s, { dataDir, accounts, config: DEFAULT_SERVICE_CONFIG });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await login(conn, "alice", "pw");
    let pid = 0;
    // The shell ignores SIGTERM and so does its sleep (an ignored signal stays ignored across exec): only the
    // SIGKILL that follows the grace period ends them, so close() must wait for it.
    const running = execCommand(conn, ["sh", "-c", "trap '' TERM; sleep 1000 & wait"], { onStart: (p) => (pid = p) });
    running.catch(() => {});
    await eventually(() => pid !== 0 && groupMembers(pid).length >= 2, "the command and its sleep");
    server.destroy();
    const started = Date.now();
    await exec.close();
    assert.deepEqual(groupMembers(pid), [], "nothing of the group is left when close() resolves");
    assert.ok(Date.now() - started >= 500, "it waited for the SIGKILL after the grace period");
    await exec.close(); // idempotent
    await assert.rejects(running, (err: unknown) => err instanceof WharfError);
  });

  test("exec refuses new commands with E_SHUTTING_DOWN once closed", async (t) => {
    const { dataDir, accounts } = await users(t);
    let exec!: Service;
    const { url } = await startServer(t, {}, (s) => {
      registerAuth(s, accounts);
      exec = registerExec(s, { dataDir, accounts, config: DEFAULT_SERVICE_CONFIG });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await login(conn, "alice", "pw");
    await exec.close();
    await assert.rejects(execCommand(conn, ["true"]), (err: unknown) => err instanceof WharfError && err.code === "E_SHUTTING_DOWN");
  });

  test("files' close() releases the lock of an upload that was begun and never finished, and keeps its partial", async (t) => {
    const { dataDir, accounts } = await users(t);
    let files!: ReturnType<typeof registerFiles>;
    const { server, url } = await startServer(t, {}, (s) => {
      registerAuth(s, accounts);
      files = registerFiles(s, { dataDir, accounts });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await login(conn, "alice", "pw");
    const begun = await conn.request("files.put.begin", { path: "big.bin", fileSize: 1000 });
    assert.equal(typeof begun.header.upload, "string");
    const partials = join(dataDir, "homes", "alice", ".wharf", "partials");
    const locks = (): string[] => readdirSync(partials).filter((name) => name.endsWith(".lock"));
    assert.equal(locks().length, 1, "the upload holds its lock");
    // A client that stops talking but keeps its connection: only close() ends its upload.
    await files.close();
    assert.deepEqual(locks(), [], "the lock is gone when close() resolves");
    assert.equal(readdirSync(partials).filter((name) => name.endsWith(".part")).length, 1, "the partial stays for a resume");
    await files.close();
    server.destroy();
  });

  test("chat's close() resolves once every queued history line is on disk", async (t) => {
    const { dataDir, accounts } = await users(t);
    let chat!: ReturnType<typeof registerChat>;
    const { url } = await startServer(t, {}, (s) => {
      registerAuth(s, accounts);
      chat = registerChat(s, { dataDir, logger: silent });
    });
    assert.equal(chat.name, "chat");
    assert.ok(chat.types.includes("chat.send") && chat.types.includes("chat.udp.join"), chat.types.join());
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await login(conn, "alice", "pw");
    const client = new ChatClient(conn);
    await client.join("lobby");
    for (let i = 0; i < 20; i += 1) await client.send("lobby", `line ${i}`);
    await chat.close();
    const stored = readFileSync(join(dataDir, "chat", "lobby.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { text: string });
    assert.equal(stored.length, 20);
    assert.equal(stored.at(-1)?.text, "line 19");
  });

  test("rpc's close() cancels the calls in flight (their signal fires) and refuses new ones with E_SHUTTING_DOWN", async (t) => {
    let aborted: unknown = null;
    let entered = false;
    let rpc!: ReturnType<typeof registerRpc>;
    const { url } = await startServer(t, {}, (s) => {
      rpc = registerRpc(s);
      rpc.method("wait.forever", async (_params, ctx) => {
        entered = true;
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        aborted = ctx.signal.reason;
        throw ctx.signal.reason;
      });
    });
    assert.deepEqual(rpc.types, ["jsonrpc", "rpc.call"]);
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const call = conn.request("rpc.call", { method: "wait.forever", params: [] });
    call.catch(() => {});
    await eventually(() => entered, "the call to start");
    await rpc.close();
    await eventually(() => aborted !== null, "the call's signal");
    assert.equal((aborted as WharfError).code, "E_SHUTTING_DOWN");
    await assert.rejects(call, (err: unknown) => err instanceof WharfError && err.code === "E_SHUTTING_DOWN");
    await assert.rejects(conn.request("rpc.call", { method: "rpc.list" }), (err: unknown) => err instanceof WharfError && err.code === "E_SHUTTING_DOWN");
  });

  test("time and auth hold nothing: their close() resolves at once and twice", async (t) => {
    const { accounts } = await users(t);
    const services: Service[] = [];
    await startServer(t, {}, (s) => {
      services.push(registerTime(s), registerAuth(s, accounts));
    });
    assert.deepEqual(services.map((s) => [s.name, s.types]), [["time", ["time"]], ["auth", ["auth", "auth.revoke"]]]);
    for (const service of services) {
      await service.close();
      await service.close();
    }
  });
});
