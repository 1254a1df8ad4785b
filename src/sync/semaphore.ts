/**
 * Semaphore and BoundedSemaphore: counting permits for one event loop, as in Python's `threading`.
 */
import { TooManyReleasesError, WaitTimeoutError } from "./errors.js";
import {
  RESOLVED_FALSE,
  RESOLVED_TRUE,
  validateInteger,
  waitOptionsError,
  type WaitOptions,
} from "./options.js";
import { resolveFalse, WaitQueue } from "./waiters.js";

/** Options of {@link Semaphore}; none today. */
export type SemaphoreOptions = Record<string, never>;

/**
 * A counter of permits. `acquire()` takes one, waiting while there are none; `release()` gives one back.
 *
 * Fairness: strict FIFO. A released permit goes straight to the oldest waiter, never to a later caller.
 *
 * @example
 * ```ts
 * const slots = new Semaphore(3); // at most three downloads at a time
 * await Promise.all(urls.map((url) => slots.runExclusive(() => download(url))));
 * ```
 */
export class Semaphore {
  #value: number;
  readonly #waiters = new WaitQueue<boolean>();

  /** @param value initial number of permits (default 1), a non-negative integer. */
  constructor(value = 1) {
    this.#value = validateInteger(value, "value", 0);
  }

  /** Permits available right now. */
  get value(): number {
    return this.#value;
  }

  /** Number of callers waiting in `acquire()`. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Takes a permit, waiting while there is none. Resolves `false` on timeout; rejects with `signal.reason` on abort.
   *
   * @example
   * ```ts
   * if (await sem.acquire({ timeout: 50 })) { try { work(); } finally { sem.release(); } }
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const invalid = waitOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#value > 0) {
      this.#value -= 1;
      return RESOLVED_TRUE;
    }
    if (options?.timeout === 0) return RESOLVED_FALSE;
    return this.#waiters.wait(options, resolveFalse);
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
    if (this.#value === 0) return false;
    this.#value -= 1;
    return true;
  }

  /**
   * Gives back `n` permits (default 1), waking up to `n` waiters in arrival order.
   *
   * @example
   * ```ts
   * sem.release(2);
   * ```
   */
  release(n = 1): void {
    validateInteger(n, "n", 1);
    this.checkRelease(n);
    for (let i = 0; i < n; i += 1) {
      const next = this.#waiters.shift();
      if (next === null) this.#value += 1;
      else this.#waiters.grant(next, true);
    }
  }

  /**
   * Acquires a permit, runs `fn`, always releases. Rejects with {@link WaitTimeoutError} if `timeout` ran out first.
   *
   * @example
   * ```ts
   * await sem.runExclusive(() => fetchOne());
   * ```
   */
  async runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    if (!(await this.acquire(options))) {
      throw new WaitTimeoutError(`Semaphore.runExclusive() got no permit within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Hook for BoundedSemaphore; throws before anything changes. */
  protected checkRelease(_n: number): void {}
}

/**
 * A Semaphore that refuses to grow past its initial value: a `release()` without a matching `acquire()` throws
 * {@link TooManyReleasesError}, which catches double-release bugs early.
 *
 * @example
 * ```ts
 * const pool = new BoundedSemaphore(2);
 * await pool.acquire();
 * pool.release();
 * pool.release(); // throws TooManyReleasesError (E_TOO_MANY_RELEASES)
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  readonly #initial: number;

  /** @param value initial and maximum number of permits (default 1). */
  constructor(value = 1) {
    super(value);
    this.#initial = value;
  }

  /** The bound: the initial number of permits. */
  get initial(): number {
    return this.#initial;
  }

  protected override checkRelease(n: number): void {
    // While anyone waits the value is 0 and each release hands a permit over, so the bound holds on value alone.
    if (this.value + n > this.#initial) {
      throw new TooManyReleasesError(`BoundedSemaphore released too many times (bound ${this.#initial})`);
    }
  }
}
