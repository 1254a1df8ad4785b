/**
 * JSON-RPC 2.0 over a wharf frame: request type `jsonrpc`, whose body is a JSON-RPC request (one object, or a
 * batch array) and whose reply body is the JSON-RPC response (none when every call was a notification).
 * See docs/rpc.md for the mapping of wharf errors to JSON-RPC error codes, and for the reply budget. Responses
 * are encoded call by call (a stream item by item) as they are made, so that their size is known while the
 * work is done, not after all of it is held in memory.
 */
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import type { RequestContext } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { BudgetSpent, CallAccount, DEFAULT_REPLY_BUDGET, MIN_REPLY_BUDGET, ReplyBudget } from "./budget.js";
import { isAsyncIterable, pump, settle as settleCall } from "./call.js";
import { RpcContext } from "./context.js";
import { RpcErrorCode } from "./errors.js";
import type { RpcRegistry } from "./registry.js";
import { rpcTimeSlice } from "./time-slice.js";

/** The error codes JSON-RPC 2.0 defines, and the one wharf uses for every other (application) error. */
export const JsonRpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Any other WharfError: `data.code` holds its `E_...` code, `data.data` its data. */
  SERVER_ERROR: -32000,
} as const;

/** Most calls in one batch, and most items of a streaming method collected into one JSON-RPC result. */
export const MAX_BATCH = 10_000;
export const MAX_STREAM_ITEMS = 10_000;
/** Calls of one batch that run at once; each next call starts, in request order, when one of them ends. */
export const BATCH_CONCURRENCY = 16;

/** Options of {@link answerJsonRpc}. */
export interface AnswerJsonRpcOptions {
  /** The deadline of every call of the request, in ms (the frame header's `timeout`). */
  timeout?: number;
  /** Most bytes of the reply body (see docs/rpc.md, "Budgets"). Default {@link DEFAULT_REPLY_BUDGET}. */
  replyBudget?: number;
}

type Id = string | number | null;

interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

function validId(id: unknown): id is Id {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/** A response, encoded: `idText` is the JSON of its id, `member` "result" or "error" with its JSON. */
function response(idText: string, member: "result" | "error", json: string): string {
  return `{"jsonrpc":"2.0","${member}":${json},"id":${idText}}`;
}

function failure(idText: string, code: number, message: string): string {
  return response(idText, "error", JSON.stringify({ code, message }));
}

/** Maps what a call threw to a JSON-RPC error object. Unexpected errors are logged, not leaked. */
export function toJsonRpcError(err: unknown, logger: Logger, method: string): JsonRpcError {
  if (err instanceof WharfError) {
    switch (err.code) {
      case RpcErrorCode.NO_METHOD:
        return { code: JsonRpcCode.METHOD_NOT_FOUND, message: "Method not found", data: { code: err.code, message: err.message } };
      case RpcErrorCode.INVALID_PARAMS:
        return { code: JsonRpcCode.INVALID_PARAMS, message: err.message, data: { code: err.code, data: err.data } };
      case RpcErrorCode.INTERNAL:
        return { code: JsonRpcCode.INTERNAL_ERROR, message: "Internal error", data: { code: err.code } };
      default:
        return { code: JsonRpcCode.SERVER_ERROR, message: err.message, data: err.data === undefined ? { code: err.code } : { code: err.code, data: err.data } };
    }
  }
  logger.error({ err, method }, "rpc handler failed");
  return { code: JsonRpcCode.INTERNAL_ERROR, message: "Internal error", data: { code: RpcErrorCode.INTERNAL } };
}

/** JSON has no bytes: binary data in results is sent as base64 strings. */
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  return original instanceof Uint8Array ? Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString("base64") : value;
}

/** A value as JSON (`undefined` as null, as in an array). Throws for what JSON cannot hold (BigInt, cycles). */
function encodeValue(value: unknown): string {
  return JSON.stringify(value, replacer) ?? "null";
}

/** One JSON-RPC request being answered: its calls share a reply budget and are stopped together when it is spent. */
class Reply {
  readonly budget: ReplyBudget;
  readonly #running = new Set<RpcContext>();
  readonly #errorJson: string;
  #spent: BudgetSpent | null = null;

  constructor(
    readonly registry: RpcRegistry,
    readonly req: RequestContext,
    readonly timeout: number | undefined,
    limit: number,
  ) {
    this.budget = new ReplyBudget(limit);
    this.#errorJson = JSON.stringify(toJsonRpcError(new BudgetSpent(limit), req.logger, ""));
  }

  /** The budget error of a call, encoded: the same bytes whether it is set aside or sent. */
  budgetError(idText: string): string {
    return response(idText, "error", this.#errorJson);
  }

  get spent(): boolean {
    return this.#spent !== null;
  }

  /** The budget ran out: every call still running is stopped (its signal fires with `E_RPC_BUDGET`). */
  spend(): BudgetSpent {
    if (this.#spent === null) {
      this.#spent = new BudgetSpent(this.budget.limit);
      for (const ctx of this.#running) ctx.abort(this.#spent);
    }
    return this.#spent;
  }

  track(ctx: RpcContext): void {
    this.#running.add(ctx);
    if (this.#spent !== null) ctx.abort(this.#spent);
  }

  untrack(ctx: RpcContext): void {
    this.#running.delete(ctx);
  }
}

/** What a call's request says before it runs: whether it is answered, and the JSON of the id it is answered with. */
function idOf(request: unknown): { notification: boolean; idText: string } {
  if (typeof request !== "object" || request === null || Array.isArray(request)) return { notification: false, idText: "null" };
  const call = request as Record<string, unknown>;
  return { notification: !Object.hasOwn(call, "id"), idText: validId(call.id) ? JSON.stringify(call.id) : "null" };
}

/** Why a call's request is not valid JSON-RPC 2.0, or null. */
function invalidRequest(request: unknown, notification: boolean): string | null {
  if (typeof request !== "object" || request === null || Array.isArray(request)) return "Invalid Request: not an object";
  const call = request as Record<string, unknown>;
  if (call.jsonrpc !== "2.0") return 'Invalid Request: jsonrpc must be "2.0"';
  if (typeof call.method !== "string") return "Invalid Request: method must be a string";
  if (!notification && !validId(call.id)) return "Invalid Request: id must be a string, a number or null";
  if (call.params !== undefined && (typeof call.params !== "object" || call.params === null)) return "Invalid Request: params must be an array or an object";
  return null;
}

/**
 * Runs one call and encodes its response (null for a notification). Its output is taken from the reply budget as
 * it is produced, item by item for a stream; when the budget cannot give it, the call is stopped and answers
 * `E_RPC_BUDGET` (set aside for it in advance), and the other calls of the reply are stopped too.
 */
async function runCall(reply: Reply, request: unknown, account: CallAccount): Promise<string | null> {
  const { notification, idText } = idOf(request);
  const settle = (text: string): string => {
    if (account.close(Buffer.byteLength(text))) return text;
    reply.spend();
    return reply.budgetError(idText);
  };
  const invalid = invalidRequest(request, notification);
  if (invalid !== null) return settle(failure(idText, JsonRpcCode.INVALID_REQUEST, invalid));
  if (reply.spent) {
    account.refund();
    return notification ? null : reply.budgetError(idText);
  }
  const call = request as { method: string; params?: unknown };
  const method = call.method;
  let ctx: RpcContext | null = null;
  try {
    const entry = reply.registry.lookup(method);
    ctx = new RpcContext(method, reply.req, reply.timeout);
    reply.track(ctx);
    const value = await settleCall(reply.registry.invoke(entry, call.params, ctx), ctx);
    let json: string;
    if (isAsyncIterable(value)) {
      json = await collect(reply, value, ctx, account, notification);
    } else {
      if (notification) {
        account.release();
        return null;
      }
      json = encodeValue(value === undefined ? null : value);
    }
    if (notification) {
      account.release();
      return null;
    }
    return settle(response(idText, "result", json));
  } catch (err) {
    if (err instanceof BudgetSpent) {
      account.refund();
      return notification ? null : reply.budgetError(idText);
    }
    const error = toJsonRpcError(err, reply.req.logger, method); // logs unexpected failures, notifications too
    if (notification) {
      account.release();
      return null;
    }
    return settle(response(idText, "error", JSON.stringify(error)));
  } finally {
    if (ctx !== null) {
      reply.untrack(ctx);
      ctx.dispose();
    }
  }
}

/**
 * Collects a stream's items into the JSON of an array, each item taken from the budget as it comes (for a
 * notification too: its items cost the same work, though nothing is kept).
 */
async function collect(reply: Reply, items: AsyncIterable<unknown>, ctx: RpcContext, account: CallAccount, notification: boolean): Promise<string> {
  // Joined every 1,024 items: a flat array of millions of small strings costs far more than their bytes.
  const joined: string[] = [];
  let chunk: string[] = [];
  let count = 0;
  await pump(items, ctx, (item) => {
    if (count >= MAX_STREAM_ITEMS) {
      throw new WharfError(RpcErrorCode.INVALID_PARAMS, `${ctx.method} streams more than ${MAX_STREAM_ITEMS} items: call it with a wharf client`);
    }
    const text = encodeValue(item);
    if (!account.take(Buffer.byteLength(text) + 1)) throw reply.spend(); // + 1: the comma
    count += 1;
    if (notification) return;
    chunk.push(text);
    if (chunk.length === 1024) {
      joined.push(chunk.join(","));
      chunk = [];
    }
  });
  if (chunk.length > 0) joined.push(chunk.join(","));
  return `[${joined.join(",")}]`;
}

/**
 * Answers a JSON-RPC 2.0 request body: a single call, a notification, or a batch (whose calls run
 * {@link BATCH_CONCURRENCY} at a time, started and answered in request order). Resolves the response body, or null
 * when nothing is to be answered. The reply never exceeds `options.replyBudget` bytes: once the calls' output would
 * pass it, the call that found it spent, the calls still running and those not started answer `E_RPC_BUDGET`
 * (JSON-RPC -32000); calls that had finished keep their results. Long work yields the event loop to other clients.
 *
 * @example
 * ```ts
 * const body = await answerJsonRpc(registry, Buffer.from('{"jsonrpc":"2.0","method":"math.add","params":[1,2],"id":1}'), ctx);
 * // {"jsonrpc":"2.0","result":3,"id":1}
 * ```
 */
export async function answerJsonRpc(registry: RpcRegistry, body: Buffer, req: RequestContext, options: AnswerJsonRpcOptions = {}): Promise<Buffer | null> {
  const limit = options.replyBudget ?? DEFAULT_REPLY_BUDGET;
  if (!Number.isSafeInteger(limit) || limit < MIN_REPLY_BUDGET) throw new RangeError(`options.replyBudget must be an integer of at least ${MIN_REPLY_BUDGET} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    return Buffer.from(failure("null", JsonRpcCode.PARSE_ERROR, `Parse error: ${(err as Error).message}`));
  }
  const batch = Array.isArray(parsed);
  const calls: unknown[] = batch ? (parsed as unknown[]) : [parsed];
  if (calls.length === 0) return Buffer.from(failure("null", JsonRpcCode.INVALID_REQUEST, "Invalid Request: empty batch"));
  if (calls.length > MAX_BATCH) return Buffer.from(failure("null", JsonRpcCode.INVALID_REQUEST, `Invalid Request: a batch holds at most ${MAX_BATCH} calls`));
  const reply = new Reply(registry, req, options.timeout, limit);
  // Every call may end up answered with its budget error, so those bytes (and the array's brackets and commas)
  // are set aside first: whatever runs out later, the reply fits.
  const reserved = calls.map((call) => Buffer.byteLength(reply.budgetError(idOf(call).idText)));
  const total = reserved.reduce((sum, n) => sum + n, batch ? calls.length + 1 : 0);
  if (!reply.budget.reserve(total)) {
    const error = toJsonRpcError(
      new WharfError(RpcErrorCode.BUDGET, `the reply budget of ${limit} bytes cannot hold an answer to each of ${calls.length} calls`, { data: { budget: limit } }),
      req.logger,
      "",
    );
    return Buffer.from(response("null", "error", JSON.stringify(error)));
  }
  // Each running call listens on the request's signal (and stops listening when it ends): up to one per lane.
  if (calls.length > 1) setMaxListeners(BATCH_CONCURRENCY + 10, req.signal);
  const replies: (string | null)[] = new Array<string | null>(calls.length).fill(null);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < calls.length && !req.aborted) {
      const index = next++;
      replies[index] = await runCall(reply, calls[index], new CallAccount(reply.budget, reserved[index]));
      const turn = rpcTimeSlice.due(); // a batch of quick calls is work in microtasks only, as a stream is
      if (turn !== undefined) await turn;
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, calls.length) }, lane));
  if (!batch) return replies[0] === null ? null : Buffer.from(replies[0]);
  const answered = replies.filter((text) => text !== null);
  return answered.length === 0 ? null : Buffer.from(`[${answered.join(",")}]`);
}
