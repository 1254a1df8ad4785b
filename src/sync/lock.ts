/**
 * Lock: a mutual-exclusion lock for one event loop, Python's `threading.Lock` with promises.
 */
import { NotHeldError, WaitTimeoutError } from "./errors.js";
import { kAcquireRestore, kIsOwned, kReleaseSave } from "./lock-protocol.js";
import { RESOLVED_FALSE, RESOLVED_TRUE, waitOptionsError, type WaitOptions } from "./options.js";
import { resolveFalse, WaitQueue } from "./waiters.js";

/** Options of {@link Lock}; none today, kept for symmetry with the other primitives. */
export type LockOptions = Record<string, never>;

/**
 * A mutual-exclusion lock. Not owned: any code may release it (as in Python), but releasing an unlocked lock throws.
 *
 * Fairness: strict FIFO. `release()` hands the lock straight to the oldest waiter, so a later `tryAcquire()` or
 * `acquire()` cannot barge in ahead of it. A waiter that times out or is aborted leaves the line and is never handed
 * the lock.
 *
 * @example
 * ```ts
 * const lock = new Lock();
 * await lock.runExclusive(async () => {
 *   balance = (await readBalance()) - 10; // no other runExclusive caller interleaves here
 * });
 * ```
 */
export class Lock {
  #locked = false;
  readonly #waiters = new WaitQueue<boolean>();

  /**
   * Waits until the lock is free and takes it. Resolves `true` once held, `false` if `timeout` ran out; rejects with
   * `signal.reason` on abort (nothing held).
   *
   * @example
   * ```ts
   * if (await lock.acquire({ timeout: 100 })) {
   *   try { work(); } finally { lock.release(); }
   * }
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const invalid = waitOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    // Free implies nobody waits: release() hands over directly, so #locked stays true while there are waiters.
    if (!this.#locked) {
      this.#locked = true;
      return RESOLVED_TRUE;
    }
    if (options?.timeout === 0) return RESOLVED_FALSE;
    return this.#waiters.wait(options, resolveFalse);
  }

  /**
   * Takes the lock if it is free right now.
   *
   * @example
   * ```ts
   * if (lock.tryAcquire()) { try { work(); } finally { lock.release(); } }
   * ```
   */
  tryAcquire(): boolean {
    if (this.#locked) return false;
    this.#locked = true;
    return true;
  }

  /**
   * Releases the lock, handing it to the oldest waiter if there is one. Throws {@link NotHeldError} if unlocked.
   *
   * @example
   * ```ts
   * await lock.acquire();
   * lock.release();
   * ```
   */
  release(): void {
    if (!this.#locked) throw new NotHeldError("Lock.release() called on an unlocked lock");
    const next = this.#waiters.shift();
    if (next === null) this.#locked = false;
    else this.#waiters.grant(next, true);
  }

  /**
   * True while some caller holds the lock.
   *
   * @example
   * ```ts
   * console.log(lock.locked());
   * ```
   */
  locked(): boolean {
    return this.#locked;
  }

  /** Number of callers waiting in `acquire()`. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Acquires, runs `fn`, and always releases, even when `fn` throws. Rejects with {@link WaitTimeoutError} if
   * `timeout` ran out before the lock was acquired (then `fn` did not run).
   *
   * @example
   * ```ts
   * const n = await lock.runExclusive(() => ++counter);
   * ```
   */
  async runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    if (!(await this.acquire(options))) {
      throw new WaitTimeoutError(`Lock.runExclusive() could not acquire the lock within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** @internal */
  [kReleaseSave](): unknown {
    this.release();
    return undefined;
  }

  /** @internal */
  async [kAcquireRestore](): Promise<void> {
    await this.acquire();
  }

  /** @internal */
  [kIsOwned](): boolean {
    return this.#locked;
  }
}
