/**
 * The client side of RPC: {@link RpcClient} (calls by name) and {@link rpcClient} (a typed proxy).
 */
import type { Connection } from "../../client/index.js";
import { ErrorCode, WharfError, type ReplyHeader } from "../../wire/index.js";
import { toFrame, unpack } from "./binary.js";
import { RpcErrorCode } from "./errors.js";

/** Options of one call. */
export interface CallOptions {
  /**
   * Milliseconds the call may take. The server learns the deadline (the handler's `ctx.deadline`) and aborts the
   * handler when it passes; the call rejects with `E_DEADLINE`.
   */
  timeout?: number;
  /** Aborting cancels the call on the server (the handler's signal fires); the call rejects with `E_CANCELLED`. */
  signal?: AbortSignal;
}

/**
 * How long after its deadline the client gives up by itself: the server's `E_DEADLINE` normally comes first,
 * so the handler sees the deadline rather than a cancel; this is only for a server that stopped answering.
 */
export const DEADLINE_GRACE_MS = 200;

/** Streamed items a consumer may leave unread before the connection stops reading (backpressure). */
const STREAM_HIGH_WATER = 64;

function toCallError(err: unknown, method: string, timeout: number | undefined): unknown {
  if (err instanceof WharfError && err.code === ErrorCode.TIMEOUT) {
    return new WharfError(RpcErrorCode.DEADLINE, `${method}: no answer within the deadline of ${timeout ?? "?"} ms`, { cause: err });
  }
  return err;
}

function checkOptions(options: CallOptions): void {
  if (options.timeout !== undefined && (!Number.isSafeInteger(options.timeout) || options.timeout <= 0)) {
    throw new RangeError("options.timeout must be a positive integer of milliseconds");
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError("options.signal must be an AbortSignal");
}

/**
 * Calls the methods of an RPC server over one connection (many calls in flight at once).
 *
 * @example
 * ```ts
 * const rpc = new RpcClient(await connect("tcp://127.0.0.1:9000"), { timeout: 5_000 });
 * const sum = await rpc.call<number>("math.add", [1, 2]);
 * for await (const tick of rpc.stream<number>("demo.count", [3])) console.log(tick);
 * ```
 */
export class RpcClient {
  readonly connection: Connection;
  readonly defaults: CallOptions;

  constructor(connection: Connection, defaults: CallOptions = {}) {
    checkOptions(defaults);
    this.connection = connection;
    this.defaults = defaults;
  }

  #request(method: string, params: unknown, options: CallOptions, onFrame: (header: ReplyHeader, body: Buffer) => void | Promise<void>) {
    if (typeof method !== "string" || method.length === 0) throw new TypeError("method must be a non-empty string");
    checkOptions(options);
    const timeout = options.timeout ?? this.defaults.timeout;
    const signal = options.signal ?? this.defaults.signal;
    const { fields, body } = toFrame("params", params);
    fields.method = method;
    if (timeout !== undefined) fields.timeout = timeout;
    const request = this.connection.request("rpc.call", fields, body, {
      timeout: timeout === undefined ? undefined : timeout + DEADLINE_GRACE_MS,
      signal,
      onFrame,
    });
    return { request, timeout };
  }

  /**
   * Calls a method and resolves its result (for a streaming method: all its items, as an array). `params` is the
   * array of arguments (or any JSON value, with Buffers anywhere inside).
   */
  async call<T = unknown>(method: string, params?: unknown, options: CallOptions = {}): Promise<T> {
    let items: unknown[] | null = null;
    const { request, timeout } = this.#request(method, params, options, (header, body) => {
      (items ??= []).push(unpack(header.item, header.parts, body));
    });
    try {
      const reply = await request;
      if (reply.header.end === true) return (items ?? []) as T;
      return unpack(reply.header.result, reply.header.parts, reply.body) as T;
    } catch (err) {
      throw toCallError(err, method, timeout);
    }
  }

  /**
   * Calls a streaming method and yields its items as they come; a consumer that falls behind holds the server
   * back. Leaving the loop early cancels the call on the server. A non-streaming method yields its one result.
   */
  async *stream<T = unknown>(method: string, params?: unknown, options: CallOptions = {}): AsyncGenerator<T, void, undefined> {
    const stop = new AbortController();
    const userSignal = options.signal ?? this.defaults.signal;
    const signal = userSignal === undefined ? stop.signal : AbortSignal.any([userSignal, stop.signal]);
    const queue: unknown[] = [];
    let finished = false;
    let failure: unknown = null;
    let wake: (() => void) | null = null;
    let resume: (() => void) | null = null;
    const notify = (): void => {
      wake?.();
      wake = null;
    };
    const { request, timeout } = this.#request(method, params, { ...options, signal }, (header, body) => {
      queue.push(unpack(header.item, header.parts, body));
      notify();
      if (queue.length >= STREAM_HIGH_WATER) return new Promise<void>((resolve) => (resume = resolve));
    });
    request.then(
      (reply) => {
        if (reply.header.end !== true) queue.push(unpack(reply.header.result, reply.header.parts, reply.body));
        finished = true;
        notify();
      },
      (err: unknown) => {
        failure = toCallError(err, method, timeout);
        finished = true;
        notify();
      },
    );
    try {
      for (;;) {
        if (queue.length > 0) {
          const item = queue.shift() as T;
          if (resume !== null && queue.length <= STREAM_HIGH_WATER / 2) {
            (resume as () => void)();
            resume = null;
          }
          yield item;
        } else if (finished) {
          if (failure !== null) throw failure;
          return;
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
        }
      }
    } finally {
      if (!finished) stop.abort(new WharfError(RpcErrorCode.CANCELLED, "the consumer stopped reading"));
      (resume as (() => void) | null)?.(); // never leave the connection paused
    }
  }
}

/** A call's resolved value: a streaming method's items are collected into an array. */
export type CallResult<R> = R extends AsyncIterable<infer I> ? I[] : Awaited<R>;
/** What iterating a call yields: a streaming method's items, or a plain method's one result. */
export type CallItem<R> = R extends AsyncIterable<infer I> ? I : Awaited<R>;

/**
 * One call through the typed proxy, started when it is first awaited or iterated: `await` it for the result,
 * `for await` it for a stream's items, and give it options first with `.with({ timeout, signal })`.
 */
export class RpcCall<T, I> implements PromiseLike<T>, AsyncIterable<I> {
  #client: RpcClient;
  #method: string;
  #params: unknown[];
  #options: CallOptions;
  #promise: Promise<T> | null = null;

  /** @internal */
  constructor(client: RpcClient, method: string, params: unknown[], options: CallOptions) {
    this.#client = client;
    this.#method = method;
    this.#params = params;
    this.#options = options;
  }

  /** The same call with these options (`timeout` in ms, `signal`). */
  with(options: CallOptions): RpcCall<T, I> {
    if (this.#promise !== null) throw new TypeError("with() must come before the call is awaited or iterated");
    checkOptions(options);
    return new RpcCall(this.#client, this.#method, this.#params, { ...this.#options, ...options });
  }

  #start(): Promise<T> {
    this.#promise ??= this.#client.call<T>(this.#method, this.#params, this.#options);
    return this.#promise;
  }

  then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#start().then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.#start().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.#start().finally(onFinally);
  }

  [Symbol.asyncIterator](): AsyncIterator<I> {
    return this.#client.stream<I>(this.#method, this.#params, this.#options);
  }
}

/**
 * The typed view of a server's methods: each method `(...args) => R` becomes `(...args) => RpcCall`, and each
 * object of methods a namespace (`api.math.add` calls `math.add`).
 */
export type RpcProxy<Api> = {
  [K in keyof Api]: Api[K] extends (...args: infer A) => infer R
    ? (...args: A) => RpcCall<CallResult<R>, CallItem<R>>
    : RpcProxy<Api[K]>;
};

function proxyFor(client: RpcClient, path: string, cache: Map<string, unknown>): unknown {
  let proxy = cache.get(path);
  if (proxy !== undefined) return proxy;
  proxy = new Proxy(function rpcMethod() {}, {
    get(_target, property) {
      // Not thenable (so that `await api` is harmless), and no symbols: everything else names a method.
      if (typeof property !== "string" || property === "then") return undefined;
      return proxyFor(client, path === "" ? property : `${path}.${property}`, cache);
    },
    apply(_target, _this, args: unknown[]) {
      if (path === "") throw new TypeError("call a method of the proxy, e.g. api.math.add(1, 2)");
      return new RpcCall(client, path, args, {});
    },
  });
  cache.set(path, proxy);
  return proxy;
}

/**
 * A typed proxy of a server's methods over a connection: `await api.add(1, 2)` calls `add` with params `[1, 2]`;
 * `for await (const x of api.watch(...))` reads a stream; `.with({ timeout, signal })` sets a call's options
 * (`defaults` sets them for every call). Errors reject with a WharfError keeping the server's `code`, `message`
 * and `data`; a passed deadline is `E_DEADLINE`, an abort `E_CANCELLED`, an unknown method `E_NO_METHOD`.
 *
 * @example
 * ```ts
 * interface MathApi { math: { add(a: number, b: number): number; count(n: number): AsyncIterable<number> } }
 * const api = rpcClient<MathApi>(await connect("tcp://127.0.0.1:9000"));
 * console.log(await api.math.add(1, 2));                        // 3
 * for await (const n of api.math.count(3)) console.log(n);      // 0 1 2
 * await api.math.add(1, 2).with({ timeout: 100, signal });       // per-call options
 * ```
 */
export function rpcClient<Api>(connection: Connection, defaults: CallOptions = {}): RpcProxy<Api> {
  return proxyFor(new RpcClient(connection, defaults), "", new Map()) as RpcProxy<Api>;
}
