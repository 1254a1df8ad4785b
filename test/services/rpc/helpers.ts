import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { connect, WharfError, type Connection } from "../../../src/client/index.js";
import type { Server } from "../../../src/server/index.js";
import { registerRpc, type RegisterRpcOptions, type RpcRegistry } from "../../../src/services/rpc/index.js";
import { startServer } from "../../helpers/server.js";

/** An in-process server with RPC (methods added by `setup`), and a connection to it. */
export async function rpcServer(
  t: TestContext,
  setup: (rpc: RpcRegistry, server: Server) => void = () => {},
  options: RegisterRpcOptions = {},
): Promise<{ server: Server; url: string; udpUrl: string; conn: Connection; rpc: RpcRegistry }> {
  let rpc!: RpcRegistry;
  const { server, url, udpUrl } = await startServer(t, {}, (s) => {
    rpc = registerRpc(s, options);
    setup(rpc, s);
  });
  const conn = await connect(url);
  t.after(() => conn.destroy());
  return { server, url, udpUrl, conn, rpc };
}

/** The WharfError a promise rejects with. */
export async function failureOf(promise: PromiseLike<unknown>): Promise<WharfError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WharfError, `not a WharfError: ${String(err)}`);
    return err;
  }
  assert.fail("the call succeeded");
}

/** Resolves once `condition()` holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
