import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { connect, WharfError } from "../../../src/client/index.js";
import { RpcClient } from "../../../src/services/rpc/index.js";
import { startServer } from "../../helpers/server.js";
import { failureOf, rpcServer, until } from "./helpers.js";

describe("health.check and draining", () => {
  test("health.check says SERVING, then NOT_SERVING while the server drains; other calls get E_SHUTTING_DOWN", async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server, conn, rpc } = await rpcServer(t, (registry) => {
      registry.method("hold", () => gate);
      registry.method("ping", () => "pong");
    });
    const client = new RpcClient(conn);
    assert.deepEqual(await client.call("health.check"), { status: "SERVING" });
    // A call in flight keeps this connection open while the server drains.
    const held = client.call("hold");
    await sleep(20);
    const closing = server.close({ timeout: 30_000 });
    assert.equal(server.state, "draining");
    assert.deepEqual(await client.call("health.check"), { status: "NOT_SERVING" });
    const refused = await failureOf(client.call("ping"));
    assert.equal(refused.code, "E_SHUTTING_DOWN");
    const viaJsonRpc = await conn.request("jsonrpc", {}, Buffer.from('{"jsonrpc":"2.0","method":"health.check","id":1}'));
    assert.deepEqual(JSON.parse(viaJsonRpc.body.toString()), { jsonrpc: "2.0", result: { status: "NOT_SERVING" }, id: 1 });
    release();
    await held;
    await closing;
    assert.equal(rpc.status, "NOT_SERVING");
  });

  test("an application can report NOT_SERVING itself", async (t) => {
    const { conn, rpc } = await rpcServer(t);
    rpc.serving = false;
    assert.deepEqual(await new RpcClient(conn).call("health.check"), { status: "NOT_SERVING" });
  });

  test("runtime: a request type registered with duringDrain is served while draining, others are refused", async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server, url } = await startServer(t, {}, (s) => {
      s.handle("hold", () => gate.then(() => ({})));
      s.handle("status", () => ({ header: { draining: s.state !== "serving" } }), { duringDrain: true });
      s.handle("other", () => ({}));
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const held = conn.request("hold");
    await until(() => server.connections()[0]?.pending === 1);
    const closing = server.close({ timeout: 30_000 });
    assert.equal((await conn.request("status")).header.draining, true);
    await assert.rejects(conn.request("other"), (err: unknown) => err instanceof WharfError && err.code === "E_SHUTTING_DOWN");
    release();
    await held;
    await closing;
  });
});
