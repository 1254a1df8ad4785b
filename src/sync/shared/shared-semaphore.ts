/**
 * SharedSemaphore: a counting semaphore that works across worker threads.
 */
import { TooManyReleasesError, WaitTimeoutError } from "../errors.js";
import { deadlineOf, remainingUntil, validateInteger, waitOptionsError, type WaitOptions } from "../options.js";
import { checkHandle, waitWhileEqual } from "./atomics-wait.js";

/** Options of {@link SharedSemaphore}. */
export interface SharedSemaphoreOptions {
  /** Like BoundedSemaphore: a release past the initial value throws {@link TooManyReleasesError}. */
  bounded?: boolean | undefined;
}

/** The transferable description of a {@link SharedSemaphore}. */
export interface SharedSemaphoreHandle {
  readonly kind: "wharf.SharedSemaphore";
  readonly sab: SharedArrayBuffer;
}

const VALUE = 0;
const WAITERS = 1;
const BOUND = 2; // -1 when unbounded
const BYTES = 3 * 4;

let adopting: SharedArrayBuffer | undefined;

/**
 * A counter of permits shared by threads. Same methods as {@link Semaphore}; `handle` + `SharedSemaphore.from()`
 * rebuild it in another worker. Fairness is best-effort (see {@link SharedLock}).
 *
 * @example
 * ```ts
 * const slots = new SharedSemaphore(2);
 * // in each of several workers:
 * const slots = SharedSemaphore.from(workerData.slots);
 * await slots.runExclusive(() => useScarceResource());
 * ```
 */
export class SharedSemaphore {
  readonly #words: Int32Array;
  readonly #handle: SharedSemaphoreHandle;

  /** @param value initial permits (default 1). */
  constructor(value = 1, options: SharedSemaphoreOptions = {}) {
    if (adopting !== undefined) {
      this.#words = new Int32Array(adopting);
      this.#handle = { kind: "wharf.SharedSemaphore", sab: adopting };
      adopting = undefined;
      return;
    }
    validateInteger(value, "value", 0, 2 ** 31 - 1);
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    const sab = new SharedArrayBuffer(BYTES);
    this.#words = new Int32Array(sab);
    this.#words[VALUE] = value;
    this.#words[BOUND] = options.bounded === true ? value : -1;
    this.#handle = { kind: "wharf.SharedSemaphore", sab };
  }

  /**
   * Rebuilds a semaphore from a handle made in another thread.
   *
   * @example
   * ```ts
   * const sem = SharedSemaphore.from(workerData.sem);
   * ```
   */
  static from(handle: SharedSemaphoreHandle): SharedSemaphore {
    adopting = checkHandle(handle, "wharf.SharedSemaphore", BYTES);
    return new SharedSemaphore();
  }

  /** Structured-cloneable description of this semaphore. */
  get handle(): SharedSemaphoreHandle {
    return this.#handle;
  }

  /** Permits available right now. */
  get value(): number {
    return Atomics.load(this.#words, VALUE);
  }

  /**
   * Takes a permit, waiting while there is none: `true`, `false` on timeout, rejects with `signal.reason` on abort.
   *
   * @example
   * ```ts
   * if (await sem.acquire({ timeout: 50 })) sem.release();
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const invalid = waitOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.tryAcquire()) return Promise.resolve(true);
    if (options?.timeout === 0) return Promise.resolve(false);
    return this.#acquireSlow(options);
  }

  async #acquireSlow(options: WaitOptions | undefined): Promise<boolean> {
    const deadline = deadlineOf(options?.timeout);
    // Counting ourselves before re-checking closes the race with release(), which adds then reads WAITERS.
    Atomics.add(this.#words, WAITERS, 1);
    try {
      for (;;) {
        if (this.tryAcquire()) return true;
        const timeout = remainingUntil(deadline);
        if (timeout === 0) return false;
        await waitWhileEqual(this.#words, VALUE, 0, timeout, options?.signal);
      }
    } finally {
      Atomics.sub(this.#words, WAITERS, 1);
    }
  }

  /**
   * Takes a permit if one is free right now.
   *
   * @example
   * ```ts
   * if (sem.tryAcquire()) sem.release();
   * ```
   */
  tryAcquire(): boolean {
    for (;;) {
      const value = Atomics.load(this.#words, VALUE);
      if (value <= 0) return false;
      if (Atomics.compareExchange(this.#words, VALUE, value, value - 1) === value) return true;
    }
  }

  /**
   * Gives back `n` permits (default 1) and wakes up to `n` waiting threads.
   *
   * @example
   * ```ts
   * sem.release();
   * ```
   */
  release(n = 1): void {
    validateInteger(n, "n", 1);
    const bound = Atomics.load(this.#words, BOUND);
    for (;;) {
      const value = Atomics.load(this.#words, VALUE);
      if (bound >= 0 && value + n > bound) {
        throw new TooManyReleasesError(`SharedSemaphore released too many times (bound ${bound})`);
      }
      if (Atomics.compareExchange(this.#words, VALUE, value, value + n) === value) break;
    }
    if (Atomics.load(this.#words, WAITERS) > 0) Atomics.notify(this.#words, VALUE, n);
  }

  /**
   * Acquires a permit, runs `fn`, always releases. Rejects with {@link WaitTimeoutError} if `timeout` ran out first.
   *
   * @example
   * ```ts
   * await sem.runExclusive(() => work());
   * ```
   */
  async runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    if (!(await this.acquire(options))) {
      throw new WaitTimeoutError(`SharedSemaphore.runExclusive() got no permit within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
