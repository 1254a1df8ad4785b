/**
 * Condition: wait for a state change under a lock, Python's `threading.Condition`.
 */
import { NotHeldError } from "./errors.js";
import { Lock } from "./lock.js";
import { kAcquireRestore, kIsOwned, kReleaseSave, type ConditionLock } from "./lock-protocol.js";
import { deadlineOf, remainingUntil, validateFunction, validateWaitOptions, type WaitOptions } from "./options.js";
import { RLock } from "./rlock.js";
import { resolveFalse, WaitQueue } from "./waiters.js";

/** Options of {@link Condition}; none today. */
export type ConditionOptions = Record<string, never>;

/**
 * A condition variable. Hold its lock, check the state, and `wait()` until another caller changes the state and
 * calls `notify()`. `wait()` releases the lock while waiting and takes it back before it settles, whatever the
 * outcome (notified, timed out or aborted), because the caller's `finally` will release it.
 *
 * Fairness: `notify(n)` wakes the `n` oldest waiters; they then queue for the lock in that order.
 * Misuse: `wait()` without the lock rejects with {@link NotHeldError}; `notify()` without it throws it.
 *
 * @example
 * ```ts
 * const cond = new Condition();
 * const items: number[] = [];
 * // consumer
 * await cond.runExclusive(async () => { await cond.waitFor(() => items.length > 0); items.shift(); });
 * // producer
 * await cond.runExclusive(() => { items.push(1); cond.notify(); });
 * ```
 */
export class Condition {
  readonly #lock: ConditionLock;
  readonly #waiters = new WaitQueue<boolean>();

  /** @param lock a {@link Lock} (default, a new one) or an {@link RLock}. */
  constructor(lock?: Lock | RLock) {
    if (lock === undefined) lock = new Lock();
    else if (!(lock instanceof Lock) && !(lock instanceof RLock)) {
      throw new TypeError("lock must be a Lock or an RLock");
    }
    this.#lock = lock as unknown as ConditionLock;
  }

  /** The lock the condition uses. */
  get lock(): Lock | RLock {
    return this.#lock as unknown as Lock | RLock;
  }

  /**
   * Acquires the underlying lock (same contract as its `acquire`).
   *
   * @example
   * ```ts
   * await cond.acquire();
   * try { cond.notifyAll(); } finally { cond.release(); }
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /**
   * Releases the underlying lock.
   *
   * @example
   * ```ts
   * cond.release();
   * ```
   */
  release(): void {
    this.#lock.release();
  }

  /** True while the underlying lock is held. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Runs `fn` holding the lock (the lock's own `runExclusive`).
   *
   * @example
   * ```ts
   * await cond.runExclusive(() => { ready = true; cond.notifyAll(); });
   * ```
   */
  runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    return (this.#lock as unknown as Lock).runExclusive(fn, options);
  }

  /** Number of callers parked in `wait()`. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Releases the lock, waits for a notify, re-acquires the lock. Resolves `true` if notified, `false` if `timeout`
   * ran out; rejects with `signal.reason` on abort. In every case the lock is held again when it settles.
   *
   * @example
   * ```ts
   * while (!ready) await cond.wait();
   * ```
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    validateWaitOptions(options);
    if (!this.#lock[kIsOwned]()) throw new NotHeldError("Condition.wait() called without holding the lock");
    options?.signal?.throwIfAborted();
    const woken = this.#waiters.wait(options, resolveFalse);
    const saved = this.#lock[kReleaseSave]();
    try {
      return await woken;
    } finally {
      await this.#lock[kAcquireRestore](saved);
    }
  }

  /**
   * Waits until `predicate()` returns a truthy value, re-checking after each notify. Resolves that value, or the
   * last falsy one if `timeout` (for the whole call) ran out.
   *
   * @example
   * ```ts
   * await cond.waitFor(() => queue.length > 0, { timeout: 1000 });
   * ```
   */
  async waitFor<T>(predicate: () => T, options?: WaitOptions): Promise<T> {
    validateFunction(predicate, "predicate");
    validateWaitOptions(options);
    const deadline = deadlineOf(options?.timeout);
    let result = predicate();
    while (!result) {
      const timeout = remainingUntil(deadline);
      if (timeout === 0) break;
      await this.wait({ timeout, signal: options?.signal });
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` waiters (default 1), oldest first. Throws {@link NotHeldError} without the lock.
   *
   * @example
   * ```ts
   * cond.notify(2);
   * ```
   */
  notify(n = 1): void {
    if (typeof n !== "number" || Number.isNaN(n) || n < 0) throw new RangeError("n must be a non-negative number");
    if (!this.#lock[kIsOwned]()) throw new NotHeldError("Condition.notify() called without holding the lock");
    for (let i = 0; i < n; i += 1) {
      const waiter = this.#waiters.shift();
      if (waiter === null) break;
      this.#waiters.grant(waiter, true);
    }
  }

  /**
   * Wakes every waiter. Throws {@link NotHeldError} without the lock.
   *
   * @example
   * ```ts
   * cond.notifyAll();
   * ```
   */
  notifyAll(): void {
    this.notify(Infinity);
  }
}
