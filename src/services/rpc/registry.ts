/**
 * The methods of an RPC server: their handlers (functions, or tasks run on a thread pool), parameter schemas and
 * options, and how one call of one method is made.
 */
import { z } from "zod";
import type { Executor, Task } from "../../pool/index.js";
import { WharfError, describeErrorCode, quote } from "../../wire/index.js";
import { AccountErrorCode } from "../accounts/index.js";
import type { RpcContext } from "./context.js";
import { RpcErrorCode } from "./errors.js";

/**
 * A method's implementation: gets the parameters (as the caller sent them: an array of arguments from wharf
 * clients, an array or an object from JSON-RPC clients) and the call's context. It returns a value (or a promise
 * of one), throws (a WharfError keeps its code across the wire), or returns an async iterable to stream items.
 */
export type RpcHandler<P = any, R = unknown> = (params: P, ctx: RpcContext) => R | Promise<R> | AsyncIterable<R>;

/** Options of {@link RpcRegistry.method}. */
export interface MethodOptions<P = unknown> {
  /** A zod schema the parameters must match; a mismatch gets `E_INVALID_PARAMS` with zod's message. */
  params?: z.ZodType<P>;
  /** One line for `rpc.list`. */
  description?: string;
  /** Only logged-in users may call it (`E_AUTH` otherwise); the context's `user` is then never null. */
  auth?: boolean;
  /** The pool that runs a task handler (default: the registry's executor). */
  executor?: Executor;
  /** Keep answering while the server drains for shutdown (everything else then gets `E_SHUTTING_DOWN`). */
  duringDrain?: boolean;
}

/** What `rpc.list` tells about a method. */
export interface MethodInfo {
  name: string;
  description?: string;
  /** JSON Schema of the parameters, when a schema was given. */
  params?: unknown;
  auth?: boolean;
}

/** @internal A registered method. */
export interface MethodEntry {
  readonly name: string;
  readonly handler: RpcHandler | null;
  readonly task: Task | null;
  readonly executor: Executor | null;
  readonly schema: z.ZodType | null;
  readonly auth: boolean;
  readonly duringDrain: boolean;
  readonly description: string | undefined;
}

/** Options of an {@link RpcRegistry}. */
export interface RpcRegistryOptions {
  /** Runs methods registered with a task instead of a function. */
  executor?: Executor;
  /** True while the server drains (then calls get `E_SHUTTING_DOWN` and `health.check` says NOT_SERVING). */
  draining?: () => boolean;
}

const METHOD_NAME = /^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/;

function isTask(value: unknown): value is Task {
  return typeof value === "object" && value !== null && typeof (value as Task).url === "string" && typeof (value as Task).name === "string";
}

/** The message of a failed validation: every issue, with the path it concerns. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
}

/**
 * The methods one server offers. `registerRpc()` makes one with the built-ins (`rpc.list`, `health.check`);
 * add yours with {@link RpcRegistry.method}.
 *
 * @example
 * ```ts
 * const rpc = registerRpc(server);
 * rpc.method("math.add", ([a, b]: [number, number]) => a + b, { params: z.tuple([z.number(), z.number()]) });
 * rpc.method("clock.ticks", async function* ([n]: [number], ctx) {
 *   for (let i = 0; i < n && !ctx.signal.aborted; i++) yield Date.now();
 * });
 * ```
 */
export class RpcRegistry {
  /** Set to false to report NOT_SERVING from `health.check` (it also does while the server drains). */
  serving = true;
  #methods = new Map<string, MethodEntry>();
  #executor: Executor | null;
  #draining: () => boolean;

  constructor(options: RpcRegistryOptions = {}) {
    this.#executor = options.executor ?? null;
    this.#draining = options.draining ?? (() => false);
  }

  /**
   * Registers (or replaces) a method. `handler` is a function, or a task (`task(moduleUrl, exportName)` from
   * `wharf/pool`) to run on a ThreadPoolExecutor: the task gets the parameters as its arguments (an object as
   * one argument) and its result is the call's result; CPU-bound work then stays off the event loop.
   *
   * @example
   * ```ts
   * rpc.method("greet", ([name]: [string], ctx) => `hello ${name} from ${ctx.user?.name ?? "anyone"}`, {
   *   params: z.tuple([z.string().min(1)]),
   * });
   * rpc.method("crypto.fib", task(new URL("./tasks.js", import.meta.url), "fib"), { executor: pool });
   * ```
   */
  method<P = any, R = unknown>(name: string, handler: RpcHandler<P, R> | Task, options: MethodOptions<P> = {}): this {
    if (typeof name !== "string" || !METHOD_NAME.test(name)) {
      throw new TypeError(`method name ${JSON.stringify(name)} must be dot-separated identifiers, e.g. "math.add"`);
    }
    const task = isTask(handler) ? handler : null;
    if (task === null && typeof handler !== "function") throw new TypeError("handler must be a function or a task(moduleUrl, exportName)");
    const executor = options.executor ?? this.#executor;
    if (task !== null && executor === null) throw new TypeError(`method ${name}: a task handler needs options.executor (a ThreadPoolExecutor)`);
    if (options.params !== undefined && typeof (options.params as z.ZodType).safeParse !== "function") {
      throw new TypeError(`method ${name}: options.params must be a zod schema`);
    }
    this.#methods.set(name, {
      name,
      handler: task === null ? (handler as RpcHandler) : null,
      task,
      executor: task === null ? null : executor,
      schema: (options.params as z.ZodType | undefined) ?? null,
      auth: options.auth === true,
      duringDrain: options.duringDrain === true,
      description: options.description,
    });
    return this;
  }

  /** True if a method of that name is registered. */
  has(name: string): boolean {
    return this.#methods.has(name);
  }

  /** The registered methods, by name, with their parameter shapes (what `rpc.list` answers). */
  list(): MethodInfo[] {
    return [...this.#methods.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((entry) => {
        const info: MethodInfo = { name: entry.name };
        if (entry.description !== undefined) info.description = entry.description;
        if (entry.schema !== null) info.params = jsonSchemaOf(entry.schema);
        if (entry.auth) info.auth = true;
        return info;
      });
  }

  /** "SERVING", or "NOT_SERVING" while the server drains or {@link RpcRegistry.serving} is false. */
  get status(): "SERVING" | "NOT_SERVING" {
    return this.serving && !this.#draining() ? "SERVING" : "NOT_SERVING";
  }

  /** @internal The method of a name, or `E_NO_METHOD`. */
  lookup(name: unknown): MethodEntry {
    const entry = typeof name === "string" ? this.#methods.get(name) : undefined;
    if (entry === undefined) {
      if (typeof name !== "string") throw new WharfError(RpcErrorCode.INVALID_PARAMS, "method must be a string");
      throw new WharfError(RpcErrorCode.NO_METHOD, `no method ${quote(name)}`);
    }
    return entry;
  }

  /**
   * @internal Makes one call: checks access and parameters, then runs the handler. Returns what the handler
   * returned (a value, a promise, or an async iterable); throws a WharfError for a refused call.
   */
  invoke(entry: MethodEntry, params: unknown, ctx: RpcContext): unknown {
    if (this.#draining() && !entry.duringDrain) throw new WharfError(RpcErrorCode.SHUTTING_DOWN, "the server is shutting down");
    if (entry.auth && ctx.user === null) throw new WharfError(AccountErrorCode.AUTH, `${entry.name} needs a login (request type auth)`);
    let value = params;
    if (entry.schema !== null) {
      const parsed = entry.schema.safeParse(params);
      if (!parsed.success) {
        throw new WharfError(RpcErrorCode.INVALID_PARAMS, `${entry.name}: ${describeIssues(parsed.error)}`, {
          data: { issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })) },
        });
      }
      value = parsed.data;
    }
    if (entry.task !== null) return runTask(entry, value, ctx);
    return (entry.handler as RpcHandler)(value, ctx);
  }
}

async function runTask(entry: MethodEntry, params: unknown, ctx: RpcContext): Promise<unknown> {
  const args = params === undefined ? [] : Array.isArray(params) ? params : [params];
  const future = (entry.executor as Executor).submit(entry.task as Task, ...args);
  ctx.onAbort(() => future.cancel()); // frees its place if it has not started; a running task runs to its end
  try {
    return await future.result();
  } catch (err) {
    throw fromWorker(err);
  }
}

/**
 * A wharf error thrown in a worker (a WharfError, or a sync or pool error) comes back as a plain Error with its
 * name and code: give it the family back, so its code reaches the caller instead of `E_INTERNAL`. Only codes of
 * the registry count, or any code of an error named WharfError: an Error with an arbitrary `code` (a Node
 * `ENOENT`) stays internal.
 */
function fromWorker(err: unknown): unknown {
  if (err instanceof WharfError) return err;
  const candidate = err as { name?: unknown; code?: unknown; message?: unknown; data?: unknown };
  const ours = candidate.name === "WharfError" || (typeof candidate.code === "string" && describeErrorCode(candidate.code) !== undefined);
  if (err instanceof Error && typeof candidate.code === "string" && ours) {
    return new WharfError(candidate.code, String(candidate.message), { data: candidate.data });
  }
  return err;
}

function jsonSchemaOf(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { unrepresentable: "any" });
  } catch {
    return {};
  }
}
