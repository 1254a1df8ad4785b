/**
 * The server side of RPC: the `rpc.call` and `jsonrpc` request types, and the built-in methods.
 */
import type { Executor } from "../../pool/index.js";
import type { RequestContext, Server } from "../../server/index.js";
import { ErrorCode, MAX_DATAGRAM_SIZE, WharfError, type RequestHeader } from "../../wire/index.js";
import { typesAdded, type Service } from "../service.js";
import { toFrame, unpack } from "./binary.js";
import { DEFAULT_REPLY_BUDGET, MIN_REPLY_BUDGET } from "./budget.js";
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
   * Most bytes of a JSON-RPC reply body (see docs/rpc.md, "Budgets"). Default: 4 MiB, or the server's
   * `maxBodySize` when that is smaller. Over UDP a reply is also held to one datagram.
   */
  replyBudget?: number;
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

/** Room for the reply header beside a JSON-RPC reply body in one datagram. */
const DATAGRAM_HEADER_ROOM = 1024;

/**
 * Refuses a reply frame whose header would pass the server's header limit (an `rpc.call` result travels as JSON
 * in the header): the caller gets a documented error instead of a reply that cannot be encoded. Only values that
 * may be large are measured, so that a number or a short string costs nothing more.
 */
function checkHeaderFits(fields: Record<string, unknown>, what: string, maxHeaderSize: number): void {
  let small = true;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === "object" && value !== null) small = false;
    else if (typeof value === "string" && value.length * 6 > maxHeaderSize / 2) small = false; // \u0000 is six bytes
  }
  if (small) return;
  const bytes = Buffer.byteLength(JSON.stringify(fields));
  // The header also holds the id and a few fields of the runtime's own: keep a little room for them.
  if (bytes > maxHeaderSize - 256) {
    throw new WharfError(RpcErrorCode.BUDGET, `${what} takes ${bytes} bytes of JSON, more than a reply header holds (${maxHeaderSize}): return binary data (a Buffer travels in the body), or stream it`, {
      data: { bytes, maxHeaderSize },
    });
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

async function serveCall(registry: RpcService, header: RequestHeader, body: Buffer, req: RequestContext, maxHeaderSize: number) {
  const entry = registry.lookup(header.method);
  const timeout = timeoutOf(header);
  const params = unpack(header.params, header.parts, body);
  const ctx = new RpcContext(entry.name, req, timeout);
  try {
    const value = await settle(registry.invoke(entry, params, ctx), ctx);
    if (isAsyncIterable(value)) {
      // Sent item by item with backpressure: a long stream costs the server no memory, so it has no byte budget.
      const count = await pump(value, ctx, (item) => {
        const frame = toFrame("item", item);
        checkHeaderFits(frame.fields, `${entry.name}: a stream item`, maxHeaderSize);
        return req.send(frame.fields, frame.body);
      });
      return { header: { end: true, count } };
    }
    const frame = toFrame("result", value);
    checkHeaderFits(frame.fields, `${entry.name}: the result`, maxHeaderSize);
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
  const registry = new RpcService({ executor: options.executor, draining: () => server.state !== "serving" }, owned);
  const replyBudget = options.replyBudget ?? Math.max(MIN_REPLY_BUDGET, Math.min(DEFAULT_REPLY_BUDGET, server.limits.maxBodySize));
  if (!Number.isSafeInteger(replyBudget) || replyBudget < MIN_REPLY_BUDGET) {
    throw new RangeError(`options.replyBudget must be an integer of at least ${MIN_REPLY_BUDGET} bytes`);
  }
  const udpBudget = Math.max(MIN_REPLY_BUDGET, Math.min(replyBudget, MAX_DATAGRAM_SIZE - DATAGRAM_HEADER_ROOM));
  const maxHeaderSize = server.limits.maxHeaderSize;
  registry.method("rpc.list", () => registry.list(), { description: "every method, with the JSON Schema of its parameters where known" });
  registry.method("health.check", () => ({ status: registry.status }), {
    description: "SERVING, or NOT_SERVING while the server drains for shutdown",
    duringDrain: true,
  });
  // Both types stay open while draining so that health.check can say NOT_SERVING; the registry refuses the rest.
  registry.types = typesAdded(server, () => {
    server.handle("rpc.call", (header, body: Buffer, req) => registry.serve(req, () => serveCall(registry, header, body, req, maxHeaderSize)), { duringDrain: true });
    server.handle(
      "jsonrpc",
      (header, body: Buffer, req) =>
        registry.serve(req, async () => {
          const budget = req.peer.transport === "udp" ? udpBudget : replyBudget;
          const reply = await answerJsonRpc(registry, body, req, { timeout: timeoutOf(header), replyBudget: budget });
          return reply === null ? undefined : { body: reply };
        }),
      { duringDrain: true },
    );
  });
  return registry;
}
