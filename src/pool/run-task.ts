/**
 * The worker side of every executor: import the task's module (once), call the export, and turn the outcome into
 * a message. Never throws: failures become error envelopes, so that a rejection seen by the pool always means the
 * worker itself died.
 */
import { encodeError, type ErrorEnvelope } from "./error-envelope.js";
import { TaskNotFoundError } from "./errors.js";
import { reviveArgs } from "./reduce.js";
import { isTransfer, type Transferable } from "./task.js";

/** What a worker sends back for one task. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: ErrorEnvelope };


/** A task request as it crosses the boundary. */
export interface TaskRequest {
  url: string;
  name: string;
  args: unknown[];
  /** Some arguments were reduced (see reduce.ts) and must be revived before the call. */
  reduced?: boolean;
}

type Fn = (...args: unknown[]) => unknown;

const modules = new Map<string, Promise<Record<string, unknown>>>();
const functions = new Map<string, Fn>();

async function resolve(url: string, name: string): Promise<Fn> {
  let loading = modules.get(url);
  if (loading === undefined) {
    loading = import(url) as Promise<Record<string, unknown>>;
    modules.set(url, loading);
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = await loading;
  } catch (error) {
    modules.delete(url); // a later submit may succeed once the module is fixed
    throw new TaskNotFoundError(`cannot import task module ${url}`, { cause: error });
  }
  const fn = namespace[name];
  if (typeof fn !== "function") {
    throw new TaskNotFoundError(`task module ${url} has no exported function "${name}"`);
  }
  functions.set(`${url}#${name}`, fn as Fn);
  return fn as Fn;
}

/**
 * Runs one task; synchronous when the function is already loaded and returns a plain value, so that tiny tasks
 * cost no extra promise turn.
 */
export function runTaskFast(request: TaskRequest, transferList: Transferable[]): Outcome | Promise<Outcome> {
  const fn = functions.get(`${request.url}#${request.name}`);
  if (fn === undefined || request.reduced === true) return runTask(request, transferList);
  let value: unknown;
  try {
    value = fn(...request.args);
  } catch (error) {
    return { ok: false, error: encodeError(error) };
  }
  if (value !== null && typeof (value as PromiseLike<unknown>)?.then === "function") {
    return Promise.resolve(value).then(
      (resolved) => settleValue(resolved, transferList),
      (error: unknown): Outcome => ({ ok: false, error: encodeError(error) }),
    );
  }
  return settleValue(value, transferList);
}

function settleValue(value: unknown, transferList: Transferable[]): Outcome {
  if (isTransfer(value)) {
    transferList.push(...value.transferList);
    return { ok: true, value: value.value };
  }
  return { ok: true, value };
}

/**
 * Runs one task. `transferList` is filled with what a `transfer()` return value asked to move.
 */
export async function runTask(request: TaskRequest, transferList: Transferable[] = []): Promise<Outcome> {
  try {
    const fn = functions.get(`${request.url}#${request.name}`) ?? (await resolve(request.url, request.name));
    const args = request.reduced === true ? await reviveArgs(request.args) : request.args;
    let value = await fn(...args);
    if (isTransfer(value)) {
      transferList.push(...value.transferList);
      value = value.value;
    }
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: encodeError(error) };
  }
}
