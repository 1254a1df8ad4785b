/**
 * Future: the eventual outcome of a submitted task, Python's `concurrent.futures.Future`.
 */
import { validateWaitOptions, waitOptionsError } from "../sync/options.js";
import { CancelledError, TimeoutError } from "./errors.js";

/** Options of {@link Future.result} and {@link Future.exception}. */
export interface ResultOptions {
  /** Milliseconds to wait at most; the future keeps running after a timeout. */
  timeout?: number | undefined;
}

type State = "PENDING" | "RUNNING" | "CANCELLED" | "FINISHED";

/**
 * Internal: lets an executor that hands work to another thread ahead of time keep `cancel()` and `running()` exact.
 * `claim()` atomically takes the work back if no worker started it yet; `started()` tells whether one has.
 */
export const kProbe = Symbol("wharf.pool.probe");

/** See {@link kProbe}. */
export interface StartProbe {
  claim(): boolean;
  started(): boolean;
}

/** Internal synchronous check: finished with an error. */
export const kFailed = Symbol("wharf.pool.failed");

/** Internal completion subscription used by `wait()` and `asCompleted()`; returns an unsubscribe function. */
export const kSubscribe = Symbol("wharf.pool.subscribe");

/**
 * The outcome of a task that may not have run yet. Executors create futures; user code reads them.
 *
 * States: pending (queued) → running → finished, or pending → cancelled. `cancel()` succeeds only while pending.
 * Futures are not thenable on purpose (as in Python): read them with `result()` / `exception()`.
 *
 * @example
 * ```ts
 * const future = executor.submit(fibTask, 30);
 * future.addDoneCallback((f) => console.log("done", f.cancelled()));
 * console.log(await future.result({ timeout: 5000 }));
 * ```
 */
export class Future<T = unknown> {
  #state: State = "PENDING";
  #value: T | undefined = undefined;
  #error: unknown = undefined;
  #failed = false;
  // Allocated on first use: most futures of a busy pool never get callbacks or listeners.
  #callbacks: ((future: Future<T>) => void)[] | undefined;
  #listeners: Set<() => void> | undefined;
  #settled: Promise<void> | undefined;
  #result: Promise<T> | undefined;
  #settleResult: { resolve: (value: T) => void; reject: (error: unknown) => void } | undefined;
  #probe: StartProbe | undefined;
  #resolveSettled: (() => void) | undefined;

  /**
   * Waits for the outcome: resolves the task's value; rejects with the task's error, {@link CancelledError} if
   * cancelled, or {@link TimeoutError} if `timeout` ran out first.
   *
   * @example
   * ```ts
   * const value = await future.result({ timeout: 1000 });
   * ```
   */
  result(options?: ResultOptions): Promise<T> {
    if (this.done()) {
      const invalid = options === undefined ? undefined : waitOptionsError(options);
      return invalid === undefined ? this.#outcome() : Promise.reject(invalid);
    }
    if (options === undefined || options.timeout === undefined || options.timeout === Infinity) {
      const invalid = options === undefined ? undefined : waitOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      // One promise per future, settled directly with the outcome: the common `await future.result()` costs no
      // extra promise hops.
      this.#result ??= new Promise<T>((resolve, reject) => (this.#settleResult = { resolve, reject }));
      return this.#result;
    }
    return this.#waitDone(options, "result").then(() => this.#outcome());
  }

  #outcome(): Promise<T> {
    if (this.#state === "CANCELLED") return Promise.reject(new CancelledError());
    if (this.#failed) return Promise.reject(this.#error);
    return Promise.resolve(this.#value as T);
  }

  /**
   * Waits for the outcome and resolves the task's error, or `undefined` if it succeeded. Rejects with
   * {@link CancelledError} if cancelled and {@link TimeoutError} on timeout.
   *
   * @example
   * ```ts
   * const error = await future.exception();
   * if (error) console.error("task failed:", error);
   * ```
   */
  async exception(options?: ResultOptions): Promise<unknown> {
    await this.#waitDone(options, "exception");
    if (this.#state === "CANCELLED") throw new CancelledError();
    return this.#failed ? this.#error : undefined;
  }

  /** True once finished or cancelled. */
  done(): boolean {
    return this.#state === "FINISHED" || this.#state === "CANCELLED";
  }

  /** True while a worker runs the task. */
  running(): boolean {
    if (this.#state === "PENDING" && this.#probe?.started()) {
      this.#state = "RUNNING";
      this.#probe = undefined;
    }
    return this.#state === "RUNNING";
  }

  /** True if cancelled before it ran. */
  cancelled(): boolean {
    return this.#state === "CANCELLED";
  }

  /**
   * Cancels the task if it is still queued: returns `true` if the future is (now) cancelled, `false` if it is
   * already running or finished.
   *
   * @example
   * ```ts
   * if (!future.cancel()) console.log("too late, it is running");
   * ```
   */
  cancel(): boolean {
    if (this.#state === "RUNNING" || this.#state === "FINISHED") return false;
    if (this.#state === "CANCELLED") return true;
    if (this.#probe !== undefined) {
      const probe = this.#probe;
      this.#probe = undefined;
      if (!probe.claim()) {
        this.#state = "RUNNING"; // a worker got to it first
        return false;
      }
    }
    this.#state = "CANCELLED";
    this.#complete();
    return true;
  }

  /**
   * Calls `fn(future)` once the future is done (finished or cancelled), or right away if it already is. Callbacks
   * run in the order they were added; one that throws is reported as a process warning and does not stop the rest.
   *
   * @example
   * ```ts
   * future.addDoneCallback((f) => f.result().then(console.log, console.error));
   * ```
   */
  addDoneCallback(fn: (future: Future<T>) => void): void {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    if (this.done()) this.#invoke(fn);
    else (this.#callbacks ??= []).push(fn);
  }

  /**
   * For executors: moves a pending future to running and returns `true`, or returns `false` if it was cancelled
   * (then the executor must not run it). As Python's `set_running_or_notify_cancel`.
   *
   * @example
   * ```ts
   * if (future.setRunningOrNotifyCancel()) startWork();
   * ```
   */
  setRunningOrNotifyCancel(): boolean {
    if (this.#state === "CANCELLED") return false;
    if (this.#state !== "PENDING") throw new Error(`future in state ${this.#state} cannot start running`);
    this.#state = "RUNNING";
    return true;
  }

  /**
   * For executors: finishes the future with a value.
   *
   * @example
   * ```ts
   * future.setResult(42);
   * ```
   */
  setResult(value: T): void {
    this.#finish();
    this.#value = value;
    this.#complete();
  }

  /**
   * For executors: finishes the future with an error.
   *
   * @example
   * ```ts
   * future.setException(new Error("failed"));
   * ```
   */
  setException(error: unknown): void {
    this.#finish();
    this.#failed = true;
    this.#error = error;
    this.#complete();
  }

  /** @internal */
  [kSubscribe](listener: () => void): () => void {
    const listeners = (this.#listeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** @internal */
  [kProbe](probe: StartProbe | undefined): void {
    this.#probe = probe;
  }

  /** @internal */
  [kFailed](): boolean {
    return this.#state === "FINISHED" && this.#failed;
  }

  /** The future's state, for debugging. */
  get state(): State {
    return this.#state;
  }

  #finish(): void {
    if (this.done()) throw new Error(`future is already ${this.#state.toLowerCase()}`);
    this.#state = "FINISHED";
    this.#probe = undefined;
  }

  #complete(): void {
    this.#resolveSettled?.();
    if (this.#settleResult !== undefined) {
      const { resolve, reject } = this.#settleResult;
      this.#settleResult = undefined;
      if (this.#state === "CANCELLED") reject(new CancelledError());
      else if (this.#failed) reject(this.#error);
      else resolve(this.#value as T);
    }
    const listeners = this.#listeners;
    if (listeners !== undefined) {
      this.#listeners = undefined;
      for (const listener of listeners) listener();
    }
    const callbacks = this.#callbacks;
    if (callbacks !== undefined) {
      this.#callbacks = undefined;
      for (const fn of callbacks) this.#invoke(fn);
    }
  }

  #invoke(fn: (future: Future<T>) => void): void {
    try {
      fn(this);
    } catch (error) {
      process.emitWarning(
        `exception calling a done callback of a Future: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        { code: "WHARF_DONE_CALLBACK" },
      );
    }
  }

  async #waitDone(options: ResultOptions | undefined, method: string): Promise<void> {
    validateWaitOptions(options);
    if (this.done()) return;
    this.#settled ??= new Promise<void>((resolve) => (this.#resolveSettled = resolve));
    const timeout = options?.timeout;
    if (timeout === undefined || timeout === Infinity) return this.#settled;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`Future.${method}() timed out after ${timeout} ms`)),
        Math.min(timeout, 2 ** 31 - 1),
      );
    });
    try {
      await Promise.race([this.#settled, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
