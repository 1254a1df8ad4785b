/**
 * The server side of RPC: the `rpc.call` and `jsonrpc` request types, and the built-in methods.
 */
import type { Executor } from "../../pool/index.js";
import type { RequestContext, Server } from "../../server/index.js";
import { ErrorCode, WharfError, type RequestHeader } from "../../wire/index.js";
import { typesAdded, type Service } from "../service.js";
import { toFrame, unpack } from "./binary.js";
import { isAsyncIterable, pump, settle } from "./call.js";
import { RpcContext } from "./context.js";
import { RpcErrorCode } from "./errors.js";
import { answerJsonRpc } from "./jsonrpc.js";
import { RpcRegistry, type RpcRegistryOptions } from "./registry.js";

/** Options of {@link registerRpc}. */
export interface RegisterRpcOptions {
  /** The default pool of methods registered with a task. */
  executor?: Executor;
  /**
   * The service owns `executor`: its `close()` shuts the pool down (queued tasks cancelled, running ones
   * awaited). Default false: a pool you pass in stays yours to shut down.
   */
  ownsExecutor?: boolean;
}

/**
 * The RPC service: the method registry of a server (add methods with {@link RpcRegistry.method}) and its
 * lifecycle. `close()` refuses new calls with `E_SHUTTING_DOWN`, cancels the calls still running (their
 * `ctx.signal` fires), and shuts down the executor if the service owns it. Idempotent.
 */
export class RpcService extends RpcRegistry implements Service {
  readonly name = "rpc";
  types: readonly string[] = [];
  /** The requests of calls running now (rpc.call and jsonrpc): close() cancels them. */
  readonly #inFlight = new Set<RequestContext>();
  readonly #ownedExecutor: Executor | null;
  #closing: Promise<void> | null = null;

  /** @internal Made by {@link registerRpc}. */
  constructor(options: RpcRegistryOptions, ownedExecutor: Executor | null) {
    super(options);
    this.#ownedExecutor = ownedExecutor;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing !== null;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const reason = new WharfError(ErrorCode.SHUTTING_DOWN, "the RPC service is closing");
      for (const req of this.#inFlight) req.abort(reason);
      // A task already running on a pool thread cannot be interrupted: shutdown() waits for it to end.
      await this.#ownedExecutor?.shutdown({ cancelFutures: true });
    })();
    return this.#closing;
  }

  /** @internal Runs one request's calls, counted as in flight; refused once closing. */
  async serve<T>(req: RequestContext, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new WharfError(ErrorCode.SHUTTING_DOWN, "the RPC service is closed");
    this.#inFlight.add(req);
    try {
      return await work();
    } finally {
      this.#inFlight.delete(req);
    }
  }
}

function timeoutOf(header: RequestHeader): number | undefined {
  const timeout = header.timeout;
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || !Number.isSafeInteger(timeout) || timeout <= 0) {
    throw new WharfError(RpcErrorCode.INVALID_PARAMS, "timeout must be a positive integer of milliseconds");
  }
  return timeout;
}

async function serveCall(registry: RpcService, header: RequestHeader, body: Buffer, req: RequestContext) {
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
 * binary bodies, streaming, deadlines) and as JSON-RPC 2.0 (`jsonrpc`). See docs/rpc.md. The registry is also the
 * service (`name` "rpc"): see {@link RpcService} for what its `close()` does.
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
export function registerRpc(server: Server, options: RegisterRpcOptions = {}): RpcService {
  const owned = options.ownsExecutor === true ? (options.executor ?? null) : null;
  const registry = new RpcService({ executor: options.executor, draining: () => server.draining }, owned);
  registry.method("rpc.list", () => registry.list(), { description: "every method, with the JSON Schema of its parameters where known" });
  registry.method("health.check", () => ({ status: registry.status }), {
    description: "SERVING, or NOT_SERVING while the server drains for shutdown",
    duringDrain: true,
  });
  // Both types stay open while draining so that health.check can say NOT_SERVING; the registry refuses the rest.
  registry.types = typesAdded(server, () => {
    server.handle("rpc.call", (header, body: Buffer, req) => registry.serve(req, () => serveCall(registry, header, body, req)), { duringDrain: true });
    server.handle(
      "jsonrpc",
      (header, body: Buffer, req) =>
        registry.serve(req, async () => {
          const reply = await answerJsonRpc(registry, body, req, timeoutOf(header));
          return reply === null ? undefined : { body: reply };
        }),
      { duringDrain: true },
    );
  });
  return registry;
}
