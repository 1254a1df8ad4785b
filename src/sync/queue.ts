/**
 * Queue: a FIFO for producers and consumers in one event loop, Python's `queue.Queue` (3.13, with shutdown).
 */
import { Deque } from "./deque.js";
import { QueueEmpty, QueueFull, QueueShutDown, TooManyTaskDoneError } from "./errors.js";
import { RESOLVED_TRUE, RESOLVED_VOID, validateInteger, validateWaitOptions, type WaitOptions } from "./options.js";
import { resolveFalse, WaitQueue } from "./waiters.js";

/** Options of {@link Queue}, {@link LifoQueue} and {@link PriorityQueue}. */
export interface QueueOptions {
  /** Most items held at once; `0` (default) means unbounded. */
  maxsize?: number | undefined;
}

/**
 * A first-in first-out queue. `put()` waits while the queue is full, `get()` waits while it is empty.
 *
 * Fairness: waiting getters are served in arrival order (an item put while getters wait goes straight to the oldest
 * one), and so are waiting putters. Cancellation: a put or get that times out rejects with {@link QueueFull} /
 * {@link QueueEmpty}; an aborted one rejects with `signal.reason`; either way its item is not enqueued / not taken.
 * Shutdown (Python 3.13): after `shutdown()` puts reject with {@link QueueShutDown}; gets drain what is left and
 * then reject with it; `shutdown(true)` also discards what is left. `for await` ends at shutdown.
 *
 * Subclasses change the order by overriding `_qsize`, `_put` and `_get` (as in Python; storage is initialised by
 * their own field initialisers, since the base constructor calls no hook).
 *
 * @example
 * ```ts
 * const q = new Queue<string>({ maxsize: 10 });
 * const consumer = (async () => { for await (const job of q) { await handle(job); q.taskDone(); } })();
 * await q.put("a"); await q.put("b");
 * await q.join();   // every item handled
 * q.shutdown();     // ends the consumer's loop
 * await consumer;
 * ```
 */
export class Queue<T = unknown> implements AsyncIterable<T> {
  readonly #maxsize: number;
  readonly #items = new Deque<T>();
  readonly #getters = new WaitQueue<T>();
  readonly #putters = new WaitQueue<void>();
  readonly #joiners = new WaitQueue<boolean>();
  #unfinished = 0;
  #isShutdown = false;

  constructor(options: QueueOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    this.#maxsize = validateInteger(options.maxsize ?? 0, "options.maxsize", 0);
  }

  /** The bound given at construction (0 = unbounded). */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Items put but not yet marked done with `taskDone()`. */
  get unfinishedTasks(): number {
    return this.#unfinished;
  }

  /** True once `shutdown()` was called. */
  get isShutdown(): boolean {
    return this.#isShutdown;
  }

  /**
   * Number of items in the queue.
   *
   * @example
   * ```ts
   * console.log(q.qsize());
   * ```
   */
  qsize(): number {
    return this._qsize();
  }

  /** True when the queue holds no item. */
  empty(): boolean {
    return this._qsize() === 0;
  }

  /** True when a bounded queue holds `maxsize` items. */
  full(): boolean {
    return this.#maxsize > 0 && this._qsize() >= this.#maxsize;
  }

  /**
   * Puts an item, waiting while the queue is full. Rejects with {@link QueueFull} if `timeout` ran out,
   * {@link QueueShutDown} if the queue is or gets shut down, `signal.reason` on abort.
   *
   * @example
   * ```ts
   * await q.put(job, { timeout: 1000 });
   * ```
   */
  put(item: T, options?: WaitOptions): Promise<void> {
    try {
      validateWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#isShutdown) return Promise.reject(new QueueShutDown());
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#offer(item)) return RESOLVED_VOID;
    if (options?.timeout === 0) return Promise.reject(new QueueFull());
    return this.#putters.wait(options, (waiter) => waiter.reject(new QueueFull()), item);
  }

  /**
   * Puts an item if there is room now; throws {@link QueueFull} or {@link QueueShutDown} otherwise.
   *
   * @example
   * ```ts
   * try { q.putNowait(job); } catch { dropped += 1; }
   * ```
   */
  putNowait(item: T): void {
    if (this.#isShutdown) throw new QueueShutDown();
    if (!this.#offer(item)) throw new QueueFull();
  }

  /**
   * Takes the next item, waiting while the queue is empty. Rejects with {@link QueueEmpty} if `timeout` ran out,
   * {@link QueueShutDown} once the queue is shut down and drained, `signal.reason` on abort.
   *
   * @example
   * ```ts
   * const job = await q.get({ timeout: 1000 });
   * ```
   */
  get(options?: WaitOptions): Promise<T> {
    try {
      validateWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this._qsize() > 0) return Promise.resolve(this.#take());
    if (this.#isShutdown) return Promise.reject(new QueueShutDown());
    if (options?.timeout === 0) return Promise.reject(new QueueEmpty());
    return this.#getters.wait(options, (waiter) => waiter.reject(new QueueEmpty()));
  }

  /**
   * Takes the next item if there is one now; throws {@link QueueEmpty} or {@link QueueShutDown} otherwise.
   *
   * @example
   * ```ts
   * while (!q.empty()) handle(q.getNowait());
   * ```
   */
  getNowait(): T {
    if (this._qsize() > 0) return this.#take();
    if (this.#isShutdown) throw new QueueShutDown();
    throw new QueueEmpty();
  }

  /**
   * Marks one item taken with `get()` as processed. Throws {@link TooManyTaskDoneError} if called more often than
   * items were put.
   *
   * @example
   * ```ts
   * const job = await q.get(); try { await handle(job); } finally { q.taskDone(); }
   * ```
   */
  taskDone(): void {
    if (this.#unfinished <= 0) throw new TooManyTaskDoneError();
    this.#unfinished -= 1;
    if (this.#unfinished === 0) this.#wakeJoiners();
  }

  /**
   * Waits until every item put has been marked done. Resolves `true`, or `false` if `timeout` ran out; rejects
   * with `signal.reason` on abort.
   *
   * @example
   * ```ts
   * await q.join();
   * ```
   */
  join(options?: WaitOptions): Promise<boolean> {
    try {
      validateWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#unfinished === 0) return RESOLVED_TRUE;
    return this.#joiners.wait(options, resolveFalse);
  }

  /**
   * Shuts the queue down: later and waiting puts reject with {@link QueueShutDown}; gets return what is left, then
   * reject with it. With `immediate`, what is left is discarded (and counted as done for `join()`).
   *
   * @example
   * ```ts
   * q.shutdown();      // consumers finish the backlog, then their loops end
   * q.shutdown(true);  // consumers stop now
   * ```
   */
  shutdown(immediate = false): void {
    this.#isShutdown = true;
    if (immediate) {
      while (this._qsize() > 0) {
        this._get();
        if (this.#unfinished > 0) this.#unfinished -= 1;
      }
      if (this.#unfinished === 0) this.#wakeJoiners();
    }
    this.#putters.failAll(() => new QueueShutDown());
    // Getters only wait while the queue is empty, so nothing is left for them.
    this.#getters.failAll(() => new QueueShutDown());
  }

  /**
   * Iterates over items as they arrive; ends (without error) once the queue is shut down and drained. Does not call
   * `taskDone()` for you.
   *
   * @example
   * ```ts
   * for await (const job of q) { await handle(job); q.taskDone(); }
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let item: T;
      try {
        item = await this.get();
      } catch (error) {
        if (error instanceof QueueShutDown) return;
        throw error;
      }
      yield item;
    }
  }

  /** Storage hook: number of stored items. */
  protected _qsize(): number {
    return this.#items.size;
  }

  /** Storage hook: store one item. */
  protected _put(item: T): void {
    this.#items.push(item);
  }

  /** Storage hook: remove and return the next item (only called when `_qsize() > 0`). */
  protected _get(): T {
    return this.#items.shift() as T;
  }


  /** Stores or hands over `item` if there is room; false if the queue is full. */
  #offer(item: T): boolean {
    const getter = this.#getters.shift();
    if (getter !== null) {
      this.#unfinished += 1;
      this.#getters.grant(getter, item);
      return true;
    }
    if (this.full()) return false;
    this._put(item);
    this.#unfinished += 1;
    return true;
  }

  #take(): T {
    const item = this._get();
    // A slot freed: admit the oldest waiting putter's item.
    const putter = this.#putters.shift();
    if (putter !== null) {
      this._put(putter.data as T);
      this.#unfinished += 1;
      this.#putters.grant(putter, undefined);
    }
    return item;
  }

  #wakeJoiners(): void {
    for (let joiner = this.#joiners.shift(); joiner !== null; joiner = this.#joiners.shift()) {
      this.#joiners.grant(joiner, true);
    }
  }
}
