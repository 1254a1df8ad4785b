import type { Logger } from "pino";
import type { PeerInfo, RequestContext } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { currentUser, type Account } from "../accounts/index.js";
import { RpcErrorCode } from "./errors.js";

/**
 * What an RPC handler knows about its call: who calls (the logged-in user, if any), from where, until when, and a
 * signal that fires when the call is cancelled, its deadline passes, or its connection goes away.
 *
 * @example
 * ```ts
 * rpc.method("report.build", async ([id]: [string], ctx) => {
 *   ctx.logger.info({ user: ctx.user?.name, id }, "building");
 *   return await buildReport(id, { signal: ctx.signal });
 * });
 * ```
 */
export class RpcContext {
  /** The method's name. */
  readonly method: string;
  readonly peer: PeerInfo;
  /** When the call's deadline passes (ms since the epoch), or null when the caller set no timeout. */
  readonly deadline: number | null;
  readonly logger: Logger;
  #request: RequestContext;
  #controller: AbortController | null = null;
  #reason: WharfError | undefined;
  #listeners: ((reason: WharfError) => void)[] | null = null;
  #timer: NodeJS.Timeout | undefined;
  #linked = false;
  #unlink: (() => void) | null = null;

  /** @internal Made by the server for each call; `timeout` in ms. */
  constructor(method: string, request: RequestContext, timeout: number | undefined) {
    this.method = method;
    this.#request = request;
    this.peer = request.peer;
    this.logger = request.logger;
    if (timeout === undefined) {
      this.deadline = null;
    } else {
      this.deadline = Date.now() + timeout;
      this.#timer = setTimeout(() => this.abort(new WharfError(RpcErrorCode.DEADLINE, `${method}: the deadline of ${timeout} ms passed`)), timeout);
    }
    if (request.aborted) this.#link();
  }

  /** The user the connection logged in as (request type `auth`), or null. */
  get user(): Account | null {
    try {
      return currentUser(this.#request);
    } catch {
      return null;
    }
  }

  /** Fires when the call is cancelled, its deadline passes, or its connection closes; `reason` is a WharfError. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
      else this.#link();
    }
    return this.#controller.signal;
  }

  /** True once the call was aborted. */
  get aborted(): boolean {
    return this.#reason !== undefined;
  }

  /** Milliseconds left until the deadline (Infinity without one). */
  get remaining(): number {
    return this.deadline === null ? Infinity : Math.max(0, this.deadline - Date.now());
  }

  /** @internal Calls `listener` once with the reason when the call is aborted. */
  onAbort(listener: (reason: WharfError) => void): void {
    if (this.#reason !== undefined) {
      listener(this.#reason);
      return;
    }
    (this.#listeners ??= []).push(listener);
    this.#link();
  }

  /** @internal Aborts the call (first reason wins). */
  abort(reason: WharfError): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    clearTimeout(this.#timer);
    this.#controller?.abort(reason);
    for (const listener of this.#listeners ?? []) listener(reason);
    this.#listeners = null;
  }

  /** @internal The call is over: its deadline timer goes, and so does its listener on the request's signal. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#unlink?.();
    this.#unlink = null;
  }

  /** Follows the request's own signal (client cancel, connection loss, server destroy) from first need on. */
  #link(): void {
    if (this.#linked) return;
    this.#linked = true;
    const signal = this.#request.signal;
    const follow = (): void => this.abort(asCallError(signal.reason));
    if (signal.aborted) {
      follow();
      return;
    }
    // The calls of a batch share one request: without removal, its signal would collect a listener per call.
    signal.addEventListener("abort", follow, { once: true });
    this.#unlink = () => signal.removeEventListener("abort", follow);
  }
}

function asCallError(reason: unknown): WharfError {
  if (reason instanceof WharfError) return reason; // E_CANCELLED, E_CONNECTION_CLOSED or E_SHUTTING_DOWN
  return new WharfError(RpcErrorCode.CANCELLED, "the call was cancelled", { cause: reason });
}
