import { ErrorCode } from "../errors/codes.js";
import { WharfError } from "../errors/wharf-error.js";
import type { BrowserConnection } from "./connection.js";

/** One method of `rpc.list`: its name, and where known a description and the JSON Schema of its params. */
export interface MethodInfo {
  name: string;
  description?: string;
  params?: unknown;
  auth?: boolean;
}

/** Options of {@link RpcClient.call}. */
export interface RpcCallOptions {
  /** Each item of a streaming method, as it comes (the call then resolves all of them, as an array). */
  onItem?(item: unknown): void | Promise<void>;
  /** Milliseconds the call may take: the server learns the deadline and answers `E_DEADLINE` once it passes. */
  timeout?: number;
  /** Aborting cancels the call on the server; it rejects with `E_CANCELLED`. */
  signal?: AbortSignal;
}

/** How long after its deadline the client gives up by itself (the server's `E_DEADLINE` normally comes first). */
const DEADLINE_GRACE_MS = 200;

/**
 * Calls RPC methods (`rpc.call`) from a browser, with the values of wharf/rpc: JSON, where each Uint8Array
 * travels as a binary part of the frame's body (`{"$bin": i}` in the JSON, sizes in `parts`).
 *
 * @example
 * ```ts
 * const rpc = new RpcClient(conn);
 * await rpc.call("math.add", [2, 3]);            // 5
 * for (const m of await rpc.list()) console.log(m.name, m.params);
 * ```
 */
export class RpcClient {
  readonly #conn: BrowserConnection;

  constructor(conn: BrowserConnection) {
    this.#conn = conn;
  }

  /**
   * Calls `method` with `params` (the array of arguments, or any JSON value) and resolves its result; for a
   * streaming method, every item (also handed to `onItem` as it comes) as an array. Rejects with the server's
   * WharfError (`E_NO_METHOD`, `E_INVALID_PARAMS`, `E_DEADLINE`, the method's own code...).
   */
  async call(method: string, params?: unknown, options: RpcCallOptions = {}): Promise<unknown> {
    if (typeof method !== "string" || method.length === 0) throw new TypeError("method must be a non-empty string");
    const { json, parts } = pack(params);
    const fields: Record<string, unknown> = { method };
    if (json !== undefined) fields.params = json;
    if (parts !== null) fields.parts = parts.map((part) => part.byteLength);
    if (options.timeout !== undefined) fields.timeout = options.timeout;
    const items: unknown[] = [];
    let streamed = false;
    try {
      const reply = await this.#conn.request({ type: "rpc.call", ...fields }, parts === null ? undefined : concat(parts), {
        signal: options.signal,
        timeout: options.timeout === undefined ? undefined : options.timeout + DEADLINE_GRACE_MS,
        onFrame: (header, body) => {
          streamed = true;
          const item = unpack(header.item, header.parts, body);
          items.push(item);
          return options.onItem?.(item);
        },
      });
      if (reply.header.end === true || (streamed && reply.header.result === undefined)) return items;
      return unpack(reply.header.result, reply.header.parts, reply.body);
    } catch (err) {
      if (err instanceof WharfError && err.code === ErrorCode.TIMEOUT) {
        throw new WharfError("E_DEADLINE", `${method}: no answer within the deadline of ${options.timeout ?? "?"} ms`, { cause: err });
      }
      throw err;
    }
  }

  /** The server's methods (`rpc.list`), sorted by name, with their parameter schemas. */
  async list(): Promise<MethodInfo[]> {
    return (await this.call("rpc.list", [])) as MethodInfo[];
  }
}

function pack(value: unknown): { json: unknown; parts: Uint8Array[] | null } {
  const parts: Uint8Array[] = [];
  const extract = (item: unknown, depth: number): unknown => {
    if (typeof item !== "object" || item === null) return item;
    if (depth > 64) throw new TypeError("an RPC value may nest at most 64 levels (or it is cyclic)");
    if (item instanceof Uint8Array) return { $bin: parts.push(item) - 1 };
    if (Array.isArray(item)) return item.map((x) => extract(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, x] of Object.entries(item)) out[key] = extract(x, depth + 1);
    return out;
  };
  const json = extract(value, 0);
  return { json, parts: parts.length === 0 ? null : parts };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Puts the binary parts of a frame back into its JSON value (`{"$bin": i}` → part i). */
function unpack(json: unknown, partSizes: unknown, body: Uint8Array): unknown {
  if (partSizes === undefined) return json;
  if (!Array.isArray(partSizes) || !partSizes.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new WharfError(ErrorCode.PROTOCOL, "parts must be an array of byte counts");
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const size of partSizes as number[]) {
    parts.push(body.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== body.byteLength) throw new WharfError(ErrorCode.PROTOCOL, `parts add up to ${offset} bytes, but the body has ${body.byteLength}`);
  const restore = (item: unknown, depth: number): unknown => {
    if (typeof item !== "object" || item === null || depth > 64) return item;
    if (Array.isArray(item)) return item.map((x) => restore(x, depth + 1));
    const record = item as Record<string, unknown>;
    if (Object.hasOwn(record, "$bin")) {
      const index = record.$bin;
      if (typeof index === "number" && Number.isInteger(index) && index >= 0 && index < parts.length) return parts[index];
      throw new WharfError(ErrorCode.PROTOCOL, `"$bin": ${String(index)} names no binary part`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, x] of Object.entries(record)) out[key] = restore(x, depth + 1);
    return out;
  };
  return restore(json, 0);
}
