/**
 * Task references and transfer markers: how `wharf/pool` names work that another thread or process can import.
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { TransferListItem } from "node:worker_threads";

/** An object that can be moved to another thread (ArrayBuffer, MessagePort, ...). */
export type Transferable = TransferListItem;

/**
 * A reference to an exported function: the module's URL and the export's name. Workers import the module and call
 * the export with the submitted arguments. `A` and `R` type `submit()` when the task is made with `task<typeof fn>`.
 */
export interface Task<A extends unknown[] = unknown[], R = unknown> {
  readonly url: string;
  readonly name: string;
  /** Type-only brand; never set at run time. */
  readonly __types?: (...args: A) => R;
}

/**
 * Names the function `exportName` (default `"default"`) of the module at `moduleUrl` (a `URL`, a `file:` URL
 * string or an absolute path), so an executor can run it in a worker. The function may be async; its arguments and
 * result are structured-cloned.
 *
 * @example
 * ```ts
 * import type { fib } from "./tasks.js";
 * const fibTask = task<typeof fib>(new URL("./tasks.js", import.meta.url), "fib");
 * const future = executor.submit(fibTask, 30); // Future<number>
 * ```
 */
export function task<F extends (...args: never[]) => unknown = (...args: unknown[]) => unknown>(
  moduleUrl: URL | string,
  exportName = "default",
): Task<Parameters<F>, Awaited<ReturnType<F>>> {
  let url: string;
  if (moduleUrl instanceof URL) url = moduleUrl.href;
  else if (typeof moduleUrl === "string" && isAbsolute(moduleUrl)) url = pathToFileURL(moduleUrl).href;
  else if (typeof moduleUrl === "string" && /^(file|data):/.test(moduleUrl)) url = new URL(moduleUrl).href;
  else throw new TypeError("moduleUrl must be a URL, a file: or data: URL string, or an absolute path");
  if (typeof exportName !== "string" || exportName === "") {
    throw new TypeError("exportName must be a non-empty string");
  }
  return Object.freeze({ url, name: exportName }) as Task<Parameters<F>, Awaited<ReturnType<F>>>;
}

/** Checks that a value is a task made by {@link task}. */
export function validateTask(value: unknown): asserts value is Task {
  const t = value as Task | null;
  if (t === null || typeof t !== "object" || typeof t.url !== "string" || typeof t.name !== "string") {
    throw new TypeError("task must be made with task(moduleUrl, exportName)");
  }
}

const kTransfer = Symbol.for("wharf.pool.transfer");

/** A value with the objects to transfer (not copy) along with it. */
export interface Transfer<T> {
  readonly [kTransfer]: true;
  readonly value: T;
  readonly transferList: readonly Transferable[];
}

/**
 * Marks `value` to be sent with `transferList` moved rather than copied (ArrayBuffers, MessagePorts). Use it for
 * an argument of `submit()`, or as a task's return value. Thread pools move the objects; process pools copy them
 * (processes share no memory), so the marker is harmless there.
 *
 * @example
 * ```ts
 * const bytes = new Uint8Array(1 << 20);
 * executor.submit(hashTask, transfer(bytes, [bytes.buffer])); // bytes is detached here afterwards
 * // in the task module:
 * export function invert(b: Uint8Array) { ...; return transfer(b, [b.buffer]); }
 * ```
 */
export function transfer<T>(value: T, transferList: readonly Transferable[]): Transfer<T> {
  if (!Array.isArray(transferList)) throw new TypeError("transferList must be an array");
  return { [kTransfer]: true, value, transferList };
}

/** True for a value made by {@link transfer} (in any copy of this module). */
export function isTransfer(value: unknown): value is Transfer<unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[kTransfer] === true;
}

const NO_TRANSFER: Transferable[] = [];

/** Unwraps transfer markers among `args`, collecting their transfer lists. */
export function unwrapArgs(args: readonly unknown[]): { args: unknown[]; transferList: Transferable[] } {
  if (!args.some(isTransfer)) return { args: args as unknown[], transferList: NO_TRANSFER };
  let transferList: Transferable[] | undefined;
  const plain = args.map((arg) => {
    if (!isTransfer(arg)) return arg;
    (transferList ??= []).push(...arg.transferList);
    return arg.value;
  });
  return { args: plain, transferList: transferList ?? [] };
}
