/**
 * SharedQueue: a bounded FIFO that several threads can put into and get from.
 */
import { deserialize, serialize } from "node:v8";
import { ItemTooLargeError, QueueEmpty, QueueFull, QueueShutDown } from "../errors.js";
import { deadlineOf, remainingUntil, validateInteger, validateWaitOptions, type WaitOptions } from "../options.js";
import { checkHandle, waitWhileEqual } from "./atomics-wait.js";
import { DONE_SEQ, GET_SEQ, HEADER_BYTES, PUT_SEQ, ringBytes, SlotRing, UNFINISHED } from "./slot-ring.js";

/** Options of {@link SharedQueue}. */
export interface SharedQueueOptions {
  /** Slots in the ring buffer (default 64); the queue is always bounded. */
  maxsize?: number | undefined;
  /** Bytes one serialized item may take (default 1024, rounded up to a multiple of 4). */
  itemSize?: number | undefined;
}

/** The transferable description of a {@link SharedQueue}. */
export interface SharedQueueHandle {
  readonly kind: "wharf.SharedQueue";
  readonly sab: SharedArrayBuffer;
}

let adopting: SharedArrayBuffer | undefined;

/**
 * A bounded multi-producer multi-consumer queue over a SharedArrayBuffer: a ring of `maxsize` slots, each holding
 * one item serialized with `v8.serialize` (the structured-clone format, so plain data, Maps, Sets, Dates, typed
 * arrays and errors cross; functions and class identity do not) in at most `itemSize` bytes. Same methods as
 * {@link Queue}, including `taskDone()`/`join()`, `shutdown(immediate)` and `for await`.
 *
 * A short internal mutex (a few microseconds to copy bytes) guards the slots; it spins, then blocks with
 * `Atomics.wait`. Waiting for room or for an item uses `Atomics.waitAsync` and never blocks the event loop.
 * Fairness across threads is best-effort.
 *
 * @example
 * ```ts
 * const jobs = new SharedQueue<{ id: number }>({ maxsize: 128, itemSize: 256 });
 * new Worker(url, { workerData: { jobs: jobs.handle } });
 * await jobs.put({ id: 1 });
 * // in the worker:
 * for await (const job of SharedQueue.from(workerData.jobs)) handle(job);
 * ```
 */
export class SharedQueue<T = unknown> implements AsyncIterable<T> {
  readonly #ring: SlotRing;
  readonly #handle: SharedQueueHandle;

  constructor(options: SharedQueueOptions = {}) {
    const adopted = adopting;
    adopting = undefined;
    if (adopted !== undefined) {
      this.#ring = new SlotRing(adopted);
      this.#handle = { kind: "wharf.SharedQueue", sab: adopted };
      return;
    }
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    const maxsize = validateInteger(options.maxsize ?? 64, "options.maxsize", 1, 2 ** 20);
    const itemSize = Math.ceil(validateInteger(options.itemSize ?? 1024, "options.itemSize", 1, 2 ** 26) / 4) * 4;
    const sab = new SharedArrayBuffer(ringBytes(maxsize, itemSize));
    this.#ring = new SlotRing(sab, { maxsize, itemSize });
    this.#handle = { kind: "wharf.SharedQueue", sab };
  }

  /**
   * Rebuilds a queue from a handle made in another thread.
   *
   * @example
   * ```ts
   * const jobs = SharedQueue.from<Job>(workerData.jobs);
   * ```
   */
  static from<T = unknown>(handle: SharedQueueHandle): SharedQueue<T> {
    adopting = checkHandle(handle, "wharf.SharedQueue", HEADER_BYTES);
    try {
      return new SharedQueue<T>();
    } finally {
      adopting = undefined;
    }
  }

  /** Structured-cloneable description of this queue. */
  get handle(): SharedQueueHandle {
    return this.#handle;
  }

  /** Number of slots. */
  get maxsize(): number {
    return this.#ring.maxsize;
  }

  /** Bytes available to one serialized item. */
  get itemSize(): number {
    return this.#ring.itemSize;
  }

  /** Items put but not yet marked done with `taskDone()`. */
  get unfinishedTasks(): number {
    return Atomics.load(this.#ring.words, UNFINISHED);
  }

  /** True once `shutdown()` was called in any thread. */
  get isShutdown(): boolean {
    return this.#ring.isShutdown();
  }

  /** Number of items in the queue right now. */
  qsize(): number {
    return this.#ring.count();
  }

  /** True when the queue holds no item. */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** True when every slot is taken. */
  full(): boolean {
    return this.qsize() >= this.#ring.maxsize;
  }

  /**
   * Puts an item, waiting while the queue is full. Rejects with {@link QueueFull} on timeout, {@link QueueShutDown}
   * if shut down, {@link ItemTooLargeError} if it does not fit a slot, `signal.reason` on abort.
   *
   * @example
   * ```ts
   * await jobs.put({ id: 2 }, { timeout: 1000 });
   * ```
   */
  async put(item: T, options?: WaitOptions): Promise<void> {
    validateWaitOptions(options);
    options?.signal?.throwIfAborted();
    const data = this.#encode(item);
    const deadline = deadlineOf(options?.timeout);
    for (;;) {
      const seq = this.#ring.tryPut(data);
      if (seq === true) return;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) throw new QueueFull();
      await waitWhileEqual(this.#ring.words, GET_SEQ, seq, timeout, options?.signal);
    }
  }

  /**
   * Puts an item if a slot is free now; throws {@link QueueFull} / {@link QueueShutDown} otherwise.
   *
   * @example
   * ```ts
   * jobs.putNowait({ id: 3 });
   * ```
   */
  putNowait(item: T): void {
    if (this.#ring.tryPut(this.#encode(item)) !== true) throw new QueueFull();
  }

  /**
   * Takes the next item, waiting while the queue is empty. Rejects with {@link QueueEmpty} on timeout,
   * {@link QueueShutDown} once shut down and drained, `signal.reason` on abort.
   *
   * @example
   * ```ts
   * const job = await jobs.get();
   * ```
   */
  async get(options?: WaitOptions): Promise<T> {
    validateWaitOptions(options);
    options?.signal?.throwIfAborted();
    const deadline = deadlineOf(options?.timeout);
    for (;;) {
      const taken = this.#ring.tryGet();
      if (taken instanceof Uint8Array) return deserialize(taken) as T;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) throw new QueueEmpty();
      await waitWhileEqual(this.#ring.words, PUT_SEQ, taken, timeout, options?.signal);
    }
  }

  /**
   * Takes the next item if there is one now; throws {@link QueueEmpty} / {@link QueueShutDown} otherwise.
   *
   * @example
   * ```ts
   * const job = jobs.getNowait();
   * ```
   */
  getNowait(): T {
    const taken = this.#ring.tryGet();
    if (taken instanceof Uint8Array) return deserialize(taken) as T;
    throw new QueueEmpty();
  }

  /**
   * Marks one item as processed; throws {@link TooManyTaskDoneError} if more than were put.
   *
   * @example
   * ```ts
   * jobs.taskDone();
   * ```
   */
  taskDone(): void {
    this.#ring.taskDone();
  }

  /**
   * Waits until every item put (by any thread) has been marked done: `true`, `false` on timeout.
   *
   * @example
   * ```ts
   * await jobs.join();
   * ```
   */
  async join(options?: WaitOptions): Promise<boolean> {
    validateWaitOptions(options);
    options?.signal?.throwIfAborted();
    const deadline = deadlineOf(options?.timeout);
    for (;;) {
      const seq = Atomics.load(this.#ring.words, DONE_SEQ);
      if (Atomics.load(this.#ring.words, UNFINISHED) === 0) return true;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) return false;
      await waitWhileEqual(this.#ring.words, DONE_SEQ, seq, timeout, options?.signal);
    }
  }

  /**
   * Shuts the queue down for every thread; same rules as {@link Queue.shutdown}.
   *
   * @example
   * ```ts
   * jobs.shutdown(); // workers drain the rest, then their `for await` loops end
   * ```
   */
  shutdown(immediate = false): void {
    this.#ring.shutdown(immediate);
  }

  /**
   * Iterates over items as they arrive; ends once the queue is shut down and drained.
   *
   * @example
   * ```ts
   * for await (const job of jobs) { handle(job); jobs.taskDone(); }
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

  #encode(item: T): Uint8Array {
    const data = serialize(item);
    if (data.byteLength > this.#ring.itemSize) {
      throw new ItemTooLargeError(
        `item serializes to ${data.byteLength} bytes, more than options.itemSize (${this.#ring.itemSize})`,
      );
    }
    return data;
  }
}
