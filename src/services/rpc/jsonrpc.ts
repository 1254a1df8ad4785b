/**
 * JSON-RPC 2.0 over a wharf frame: request type `jsonrpc`, whose body is a JSON-RPC request (one object, or a
 * batch array) and whose reply body is the JSON-RPC response (none when every call was a notification).
 * See docs/rpc.md for the mapping of wharf errors to JSON-RPC error codes.
 */
import type { Logger } from "pino";
import type { RequestContext } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { isAsyncIterable, pump, settle } from "./call.js";
import { RpcContext } from "./context.js";
import { RpcErrorCode } from "./errors.js";
import type { RpcRegistry } from "./registry.js";

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

type Id = string | number | null;

interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

type Response = { jsonrpc: "2.0"; result: unknown; id: Id } | { jsonrpc: "2.0"; error: JsonRpcError; id: Id };

function failure(id: Id, code: number, message: string, data?: unknown): Response {
  return { jsonrpc: "2.0", error: data === undefined ? { code, message } : { code, message, data }, id };
}

function validId(id: unknown): id is Id {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
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

async function callOne(registry: RpcRegistry, request: unknown, req: RequestContext, timeout: number | undefined): Promise<Response | null> {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return failure(null, JsonRpcCode.INVALID_REQUEST, "Invalid Request: not an object");
  }
  const call = request as Record<string, unknown>;
  const notification = !Object.hasOwn(call, "id");
  const id = validId(call.id) ? call.id : null;
  if (call.jsonrpc !== "2.0") return failure(id, JsonRpcCode.INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"');
  if (typeof call.method !== "string") return failure(id, JsonRpcCode.INVALID_REQUEST, "Invalid Request: method must be a string");
  if (!notification && !validId(call.id)) return failure(null, JsonRpcCode.INVALID_REQUEST, "Invalid Request: id must be a string, a number or null");
  if (call.params !== undefined && (typeof call.params !== "object" || call.params === null)) {
    return failure(id, JsonRpcCode.INVALID_REQUEST, "Invalid Request: params must be an array or an object");
  }
  const method = call.method;
  let ctx: RpcContext | null = null;
  try {
    const entry = registry.lookup(method);
    ctx = new RpcContext(method, req, timeout);
    let value = await settle(registry.invoke(entry, call.params, ctx), ctx);
    if (isAsyncIterable(value)) {
      const items: unknown[] = [];
      await pump(value, ctx, (item) => {
        if (items.length >= MAX_STREAM_ITEMS) {
          throw new WharfError(RpcErrorCode.INVALID_PARAMS, `${method} streams more than ${MAX_STREAM_ITEMS} items: call it with a wharf client`);
        }
        items.push(item);
      });
      value = items;
    }
    return notification ? null : { jsonrpc: "2.0", result: value === undefined ? null : value, id };
  } catch (err) {
    const error = toJsonRpcError(err, req.logger, method); // logs unexpected failures, notifications too
    return notification ? null : { jsonrpc: "2.0", error, id };
  } finally {
    ctx?.dispose();
  }
}

/**
 * Answers a JSON-RPC 2.0 request body: a single call, a notification, or a batch (whose calls run concurrently,
 * answered in request order). Resolves the response body, or null when nothing is to be answered.
 *
 * @example
 * ```ts
 * const body = await answerJsonRpc(registry, Buffer.from('{"jsonrpc":"2.0","method":"math.add","params":[1,2],"id":1}'), ctx);
 * // {"jsonrpc":"2.0","result":3,"id":1}
 * ```
 */
export async function answerJsonRpc(registry: RpcRegistry, body: Buffer, req: RequestContext, timeout?: number): Promise<Buffer | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    return encode(failure(null, JsonRpcCode.PARSE_ERROR, `Parse error: ${(err as Error).message}`));
  }
  if (!Array.isArray(parsed)) {
    const response = await callOne(registry, parsed, req, timeout);
    return response === null ? null : encode(response);
  }
  if (parsed.length === 0) return encode(failure(null, JsonRpcCode.INVALID_REQUEST, "Invalid Request: empty batch"));
  if (parsed.length > MAX_BATCH) return encode(failure(null, JsonRpcCode.INVALID_REQUEST, `Invalid Request: a batch holds at most ${MAX_BATCH} calls`));
  const responses = (await Promise.all(parsed.map((call) => callOne(registry, call, req, timeout)))).filter((r) => r !== null);
  return responses.length === 0 ? null : encode(responses);
}

function encode(response: Response | Response[]): Buffer {
  return Buffer.from(JSON.stringify(response, replacer));
}
