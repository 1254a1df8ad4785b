/**
 * The server side of RPC: the `rpc.call` and `jsonrpc` request types, and the built-in methods.
 */
import type { Executor } from "../../pool/index.js";
import type { RequestContext, Server } from "../../server/index.js";
import { WharfError, type RequestHeader } from "../../wire/index.js";
import { toFrame, unpack } from "./binary.js";
import { isAsyncIterable, pump, settle } from "./call.js";
import { RpcContext } from "./context.js";
import { RpcErrorCode } from "./errors.js";
import { answerJsonRpc } from "./jsonrpc.js";
import { RpcRegistry } from "./registry.js";

/** Options of {@link registerRpc}. */
export interface RegisterRpcOptions {
  /** The default pool of methods registered with a task. */
  executor?: Executor;
}

function timeoutOf(header: RequestHeader): number | undefined {
  const timeout = header.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || !Number.isSafeInteger(timeout) || timeout <= 0) {
    throw new WharfError(RpcErrorCode.INVALID_PARAMS, "timeout must be a positive integer of milliseconds");
  }
  return timeout;
}

async function serveCall(registry: RpcRegistry, header: RequestHeader, body: Buffer, req: RequestContext) {
  const entry = registry.lookup(header.method);
  const timeout = timeoutOf(header);
  const params = unpack(header.params, header.parts, body);
  const ctx = new RpcContext(entry.name, req, timeout);
  try {
    const value = await settle(registry.invoke(entry, params, ctx), ctx);
    if (isAsyncIterable(value)) {
      const count = await pump(value, ctx, (item) => {
        const frame = toFrame("item", item);
        return req.send(frame.fields, frame.body);
      });
      return { header: { end: true, count } };
    }
    const frame = toFrame("result", value);
    return { header: frame.fields, body: frame.body };
  } finally {
    ctx.dispose();
  }
}

/**
 * Adds RPC to a server and returns its method registry, with the built-in methods `rpc.list` (every method, with
 * the JSON Schema of its parameters where one was given) and `health.check` (`{status: "SERVING"}`, or
 * `"NOT_SERVING"` while the server drains for shutdown). Methods are reachable as `rpc.call` (wharf clients,
 * binary bodies, streaming, deadlines) and as JSON-RPC 2.0 (`jsonrpc`). See docs/rpc.md.
 *
 * @example
 * ```ts
 * import { Server } from "wharf/server";
 * import { registerRpc } from "wharf/rpc";
 * import { z } from "zod";
 * const server = new Server();
 * const rpc = registerRpc(server);
 * rpc.method("math.add", ([a, b]: [number, number]) => a + b, { params: z.tuple([z.number(), z.number()]) });
 * await server.listenTcp({ port: 9000 });
 * ```
 */
export function registerRpc(server: Server, options: RegisterRpcOptions = {}): RpcRegistry {
  const registry = new RpcRegistry({ executor: options.executor, draining: () => server.state !== "serving" });
  registry.method("rpc.list", () => registry.list(), { description: "every method, with the JSON Schema of its parameters where known" });
  registry.method("health.check", () => ({ status: registry.status }), {
    description: "SERVING, or NOT_SERVING while the server drains for shutdown",
    duringDrain: true,
  });
  // Both types stay open while draining so that health.check can say NOT_SERVING; the registry refuses the rest.
  server.handle("rpc.call", (header, body: Buffer, req) => serveCall(registry, header, body, req), { duringDrain: true });
  server.handle(
    "jsonrpc",
    async (header, body: Buffer, req) => {
      const reply = await answerJsonRpc(registry, body, req, timeoutOf(header));
      return reply === null ? undefined : { body: reply };
    },
    { duringDrain: true },
  );
  return registry;
}
