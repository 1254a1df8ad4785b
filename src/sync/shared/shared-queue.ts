/**
 * SharedQueue: a bounded FIFO that several threads can put into and get from.
 */
import { deserialize, serialize } from "node:v8";
import { ItemTooLargeError, QueueEmpty, QueueFull, QueueShutDown, TooManyTaskDoneError } from "../errors.js";
import { deadlineOf, remainingUntil, validateInteger, validateWaitOptions, type WaitOptions } from "../options.js";
import { checkHandle, waitWhileEqual } from "./atomics-wait.js";

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

// Header words. The *_SEQ words only ever grow: a waiter reads one under the mutex, releases it, and sleeps while
// the word still holds that value, so a change made after it looked can never be missed.
const MUTEX = 0;
const HEAD = 1;
const COUNT = 2;
const UNFINISHED = 3;
const SHUTDOWN = 4;
const PUT_SEQ = 5; // bumped when an item arrives (getters sleep on it)
const GET_SEQ = 6; // bumped when a slot frees (putters sleep on it)
const DONE_SEQ = 7; // bumped when unfinished reaches 0 (join sleeps on it)
const MAXSIZE = 8;
const ITEM_SIZE = 9;
const HEADER_BYTES = 12 * 4;
const SPINS = 64;

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
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #handle: SharedQueueHandle;
  readonly #maxsize: number;
  readonly #itemSize: number;

  constructor(options: SharedQueueOptions = {}) {
    let sab = adopting;
    adopting = undefined;
    if (sab === undefined) {
      if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
      const maxsize = validateInteger(options.maxsize ?? 64, "options.maxsize", 1, 2 ** 20);
      const itemSize = Math.ceil(validateInteger(options.itemSize ?? 1024, "options.itemSize", 1, 2 ** 26) / 4) * 4;
      sab = new SharedArrayBuffer(HEADER_BYTES + maxsize * (4 + itemSize));
      const words = new Int32Array(sab, 0, HEADER_BYTES / 4);
      words[MAXSIZE] = maxsize;
      words[ITEM_SIZE] = itemSize;
    }
    this.#words = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(sab);
    this.#maxsize = this.#words[MAXSIZE]!;
    this.#itemSize = this.#words[ITEM_SIZE]!;
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
    const sab = checkHandle(handle, "wharf.SharedQueue", HEADER_BYTES);
    const words = new Int32Array(sab, 0, HEADER_BYTES / 4);
    if (sab.byteLength < HEADER_BYTES + words[MAXSIZE]! * (4 + words[ITEM_SIZE]!)) {
      throw new TypeError("handle.sab is too small for the queue it describes");
    }
    adopting = sab;
    return new SharedQueue<T>();
  }

  /** Structured-cloneable description of this queue. */
  get handle(): SharedQueueHandle {
    return this.#handle;
  }

  /** Number of slots. */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Bytes available to one serialized item. */
  get itemSize(): number {
    return this.#itemSize;
  }

  /** Items put but not yet marked done with `taskDone()`. */
  get unfinishedTasks(): number {
    return Atomics.load(this.#words, UNFINISHED);
  }

  /** True once `shutdown()` was called in any thread. */
  get isShutdown(): boolean {
    return Atomics.load(this.#words, SHUTDOWN) === 1;
  }

  /** Number of items in the queue right now. */
  qsize(): number {
    return Atomics.load(this.#words, COUNT);
  }

  /** True when the queue holds no item. */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** True when every slot is taken. */
  full(): boolean {
    return this.qsize() >= this.#maxsize;
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
      const seq = this.#tryPut(data);
      if (seq === true) return;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) throw new QueueFull();
      await waitWhileEqual(this.#words, GET_SEQ, seq, timeout, options?.signal);
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
    if (this.#tryPut(this.#encode(item)) !== true) throw new QueueFull();
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
      const taken = this.#tryGet();
      if (taken instanceof Uint8Array) return deserialize(taken) as T;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) throw new QueueEmpty();
      await waitWhileEqual(this.#words, PUT_SEQ, taken, timeout, options?.signal);
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
    const taken = this.#tryGet();
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
    this.#lock();
    try {
      const unfinished = this.#words[UNFINISHED]!;
      if (unfinished <= 0) throw new TooManyTaskDoneError();
      Atomics.store(this.#words, UNFINISHED, unfinished - 1);
      if (unfinished === 1) this.#bump(DONE_SEQ, Infinity);
    } finally {
      this.#unlock();
    }
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
      const seq = Atomics.load(this.#words, DONE_SEQ);
      if (Atomics.load(this.#words, UNFINISHED) === 0) return true;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) return false;
      await waitWhileEqual(this.#words, DONE_SEQ, seq, timeout, options?.signal);
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
    this.#lock();
    try {
      Atomics.store(this.#words, SHUTDOWN, 1);
      if (immediate) {
        const count = this.#words[COUNT]!;
        const unfinished = Math.max(0, this.#words[UNFINISHED]! - count);
        Atomics.store(this.#words, COUNT, 0);
        Atomics.store(this.#words, UNFINISHED, unfinished);
        if (unfinished === 0) this.#bump(DONE_SEQ, Infinity);
      }
      this.#bump(PUT_SEQ, Infinity);
      this.#bump(GET_SEQ, Infinity);
    } finally {
      this.#unlock();
    }
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
    if (data.byteLength > this.#itemSize) {
      throw new ItemTooLargeError(
        `item serializes to ${data.byteLength} bytes, more than options.itemSize (${this.#itemSize})`,
      );
    }
    return data;
  }

  /** Stores `data`; true, or the GET_SEQ value to sleep on while full. Throws QueueShutDown. */
  #tryPut(data: Uint8Array): true | number {
    this.#lock();
    try {
      if (this.#words[SHUTDOWN] === 1) throw new QueueShutDown();
      const count = this.#words[COUNT]!;
      if (count >= this.#maxsize) return Atomics.load(this.#words, GET_SEQ);
      const offset = this.#slot((this.#words[HEAD]! + count) % this.#maxsize);
      new DataView(this.#bytes.buffer).setInt32(offset, data.byteLength, true);
      this.#bytes.set(data, offset + 4);
      Atomics.store(this.#words, COUNT, count + 1);
      Atomics.add(this.#words, UNFINISHED, 1);
      this.#bump(PUT_SEQ, 1);
      return true;
    } finally {
      this.#unlock();
    }
  }

  /** Copies out the next item, or returns the PUT_SEQ value to sleep on while empty. Throws QueueShutDown. */
  #tryGet(): Uint8Array | number {
    this.#lock();
    try {
      const count = this.#words[COUNT]!;
      if (count === 0) {
        if (this.#words[SHUTDOWN] === 1) throw new QueueShutDown();
        return Atomics.load(this.#words, PUT_SEQ);
      }
      const head = this.#words[HEAD]!;
      const offset = this.#slot(head);
      const length = new DataView(this.#bytes.buffer).getInt32(offset, true);
      const data = this.#bytes.slice(offset + 4, offset + 4 + length);
      Atomics.store(this.#words, HEAD, (head + 1) % this.#maxsize);
      Atomics.store(this.#words, COUNT, count - 1);
      this.#bump(GET_SEQ, 1);
      return data;
    } finally {
      this.#unlock();
    }
  }

  #slot(index: number): number {
    return HEADER_BYTES + index * (4 + this.#itemSize);
  }

  #bump(word: number, wake: number): void {
    Atomics.add(this.#words, word, 1);
    Atomics.notify(this.#words, word, wake);
  }

  #lock(): void {
    const words = this.#words;
    if (Atomics.compareExchange(words, MUTEX, 0, 1) === 0) return;
    for (let i = 0; i < SPINS; i += 1) {
      if (Atomics.load(words, MUTEX) === 0 && Atomics.compareExchange(words, MUTEX, 0, 1) === 0) return;
    }
    // Held for a memcpy at most, so blocking this thread briefly (allowed in Node, even on the main thread) is fine.
    while (Atomics.exchange(words, MUTEX, 2) !== 0) Atomics.wait(words, MUTEX, 2);
  }

  #unlock(): void {
    if (Atomics.exchange(this.#words, MUTEX, 0) === 2) Atomics.notify(this.#words, MUTEX, 1);
  }
}
