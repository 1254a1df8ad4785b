/**
 * Executor: what thread and process pools share, Python's `concurrent.futures.Executor`. A FIFO of submitted
 * work sits in front of the workers, so that a future stays cancellable until a worker actually starts it.
 */
import { Deque } from "../sync/deque.js";
import { deadlineOf, remainingUntil, validateInteger, validateWaitOptions } from "../sync/options.js";
import { decodeError } from "./error-envelope.js";
import { ShutdownError } from "./errors.js";
import { Future } from "./future.js";
import type { Outcome } from "./run-task.js";
import { unwrapArgs, validateTask, type Task, type Transfer, type Transferable } from "./task.js";

/** Options of {@link Executor.map}. */
export interface MapOptions {
  /** Milliseconds from the call to `map()`; a result not ready by then throws {@link TimeoutError}. */
  timeout?: number | undefined;
}

/** Options of {@link Executor.shutdown}. */
export interface ShutdownOptions {
  /** Resolve only once every pending future is done and the workers are gone (default true). */
  wait?: boolean | undefined;
  /** Cancel the futures still queued (default false). */
  cancelFutures?: boolean | undefined;
}

/** Arguments of a task, each optionally wrapped in `transfer()`. */
export type TaskArgs<A extends unknown[]> = { [K in keyof A]: A[K] | Transfer<A[K]> };

/** One submitted call, as the concrete executor receives it. */
export interface WorkItem {
  readonly future: Future<unknown>;
  readonly task: Task;
  readonly args: unknown[];
  readonly transferList: Transferable[];
}

/**
 * Base of {@link ThreadPoolExecutor} and {@link ProcessPoolExecutor}. Fairness: work starts in submission order.
 * Cancellation: `future.cancel()` works until a worker starts the work. Shutdown: as in Python, `submit()` throws
 * {@link ShutdownError} afterwards, queued work still runs unless `cancelFutures`, and `wait` waits for it all.
 *
 * @example
 * ```ts
 * const executor = new ThreadPoolExecutor({ maxWorkers: 4 });
 * try { console.log(await executor.submit(fibTask, 25).result()); } finally { await executor.shutdown(); }
 * ```
 */
export abstract class Executor {
  readonly #maxWorkers: number;
  readonly #queue = new Deque<WorkItem>();
  readonly #pending = new Set<Future<unknown>>();
  #running = 0;
  #shutdown = false;

  #closing: Promise<void> | undefined;
  #onIdle: (() => void) | undefined;

  protected constructor(maxWorkers: number) {
    this.#maxWorkers = validateInteger(maxWorkers, "options.maxWorkers", 1);
  }

  /** Most items handed to `start()` and not yet completed; thread pools hand a few ahead to keep threads busy. */
  protected get dispatchWindow(): number {
    return this.#maxWorkers;
  }

  /** Most tasks run at once. */
  get maxWorkers(): number {
    return this.#maxWorkers;
  }

  /** True once `shutdown()` was called. */
  get isShutdown(): boolean {
    return this.#shutdown;
  }

  /**
   * Schedules `task(...args)` and returns its {@link Future}. Throws {@link ShutdownError} after `shutdown()`.
   * Wrap an argument in `transfer(value, list)` to move buffers instead of copying them.
   *
   * @example
   * ```ts
   * const future = executor.submit(task(new URL("./tasks.js", import.meta.url), "add"), 2, 3);
   * console.log(await future.result()); // 5
   * ```
   */
  submit<A extends unknown[], R>(task: Task<A, R>, ...args: TaskArgs<A>): Future<R> {
    validateTask(task);
    if (this.#shutdown) throw new ShutdownError();
    const future = new Future<R>();
    const unwrapped = unwrapArgs(args);
    const item: WorkItem = {
      future: future as Future<unknown>,
      task,
      args: unwrapped.args,
      transferList: unwrapped.transferList,
    };
    // Forgotten when its outcome arrives or when the pump drops it as cancelled (no callback per future).
    this.#pending.add(item.future);
    this.#queue.push(item);
    this.#pump();
    return future;
  }

  /**
   * Runs `task(item)` for every item (all submitted at once) and yields the results in input order. If a task
   * failed, iteration throws its error when it reaches it; leaving the loop early cancels what has not started.
   *
   * @example
   * ```ts
   * for await (const square of executor.map(squareTask, [1, 2, 3], { timeout: 5000 })) console.log(square);
   * ```
   */
  map<T, R>(task: Task<[T], R>, iterable: Iterable<T>, options: MapOptions = {}): AsyncIterableIterator<R> {
    validateTask(task);
    if (iterable === null || typeof (iterable as Iterable<T>)[Symbol.iterator] !== "function") {
      throw new TypeError("iterable must be iterable");
    }
    validateWaitOptions({ timeout: options.timeout });
    const deadline = deadlineOf(options.timeout);
    const futures: Future<R>[] = [];
    for (const item of iterable) futures.push(this.submit<[T], R>(task, ...([item] as TaskArgs<[T]>)));
    return (async function* results(): AsyncGenerator<R> {
      try {
        for (const future of futures) {
          const timeout = remainingUntil(deadline);
          yield await future.result({ timeout: timeout === Infinity ? undefined : timeout });
        }
      } finally {
        for (const future of futures) future.cancel();
      }
    })();
  }

  /**
   * Stops accepting work. With `wait` (default) resolves once every pending future is done and the workers are
   * gone; with `cancelFutures` the queued ones are cancelled first. Without `wait` it resolves at once and the
   * workers go when the remaining work is done. Calling it again is harmless.
   *
   * @example
   * ```ts
   * await executor.shutdown({ cancelFutures: true });
   * ```
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const { wait = true, cancelFutures = false } = options;
    this.#shutdown = true;
    if (cancelFutures) {
      for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) item.future.cancel();
      // Handed-ahead work that no worker has started can be taken back too (running futures refuse).
      for (const future of [...this.#pending]) future.cancel();
    }
    this.#closing ??= (async () => {
      for (let next = this.#first(); next !== undefined; next = this.#first()) {
        if (next.done()) this.#pending.delete(next); // cancelled while queued
        else await new Promise<void>((resolve) => next.addDoneCallback(() => resolve()));
      }
      // Cancelled work a worker still holds (it will skip it) must come back before the workers go.
      if (this.#running > 0) await new Promise<void>((resolve) => (this.#onIdle = resolve));
      await this.close();
    })();
    if (wait) await this.#closing;
  }

  /** `await using executor = new ThreadPoolExecutor()` shuts it down (waiting) at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /**
   * Decides whether a dequeued item may start: by default moves its future to running (false if it was cancelled).
   * An executor that hands work ahead of time overrides it to keep the future pending until a worker starts it.
   */
  protected admit(item: WorkItem): boolean {
    return item.future.setRunningOrNotifyCancel();
  }

  /** Starts one item on a free worker; call {@link Executor.complete} when it ends. */
  protected abstract start(item: WorkItem): void;

  /** Releases the workers; called once, after every future is done. */
  protected abstract close(): Promise<void>;

  /** Reports the end of an item started with `start()`: a worker's outcome, or an error (worker death). */
  protected complete(item: WorkItem, outcome: Outcome | { ok: false; died: Error } | { skipped: true }): void {
    this.#running -= 1;
    this.#pending.delete(item.future);
    // A future cancelled after it was handed to a worker is already settled; whatever comes back is moot.
    if (!item.future.done() && !("skipped" in outcome)) {
      if (outcome.ok) item.future.setResult(outcome.value);
      else if ("died" in outcome) item.future.setException(outcome.died);
      else item.future.setException(decodeError(outcome.error));
    }
    if (this.#running === 0) this.#onIdle?.();
    this.#pump();
  }

  #first(): Future<unknown> | undefined {
    return this.#pending.values().next().value;
  }

  #pump(): void {
    const window = this.dispatchWindow;
    while (this.#running < window) {
      const item = this.#queue.shift();
      if (item === undefined) return;
      if (!this.admit(item)) {
        this.#pending.delete(item.future);
        continue;
      }
      this.#running += 1;
      try {
        this.start(item);
      } catch (error) {
        this.complete(item, { ok: false, died: error as Error });
      }
    }
  }
}
