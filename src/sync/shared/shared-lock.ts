/**
 * SharedLock: a Lock that works across worker threads, on a SharedArrayBuffer word.
 */
import { NotHeldError, WaitTimeoutError } from "../errors.js";
import { deadlineOf, remainingUntil, waitOptionsError, type WaitOptions } from "../options.js";
import { checkHandle, waitWhileEqual } from "./atomics-wait.js";

/** Options of {@link SharedLock}; none today. */
export type SharedLockOptions = Record<string, never>;

/** The transferable description of a {@link SharedLock}: pass it through `postMessage` or `workerData`. */
export interface SharedLockHandle {
  readonly kind: "wharf.SharedLock";
  readonly sab: SharedArrayBuffer;
}

// The word: 0 free, 1 held and nobody waits, 2 held and someone may wait (Drepper's "futexes are tricky", mutex 2).
const FREE = 0;
const HELD = 1;
const CONTENDED = 2;

/** Set by `from()` just before it calls the constructor, so the public constructor stays argument-free. */
let adopting: SharedArrayBuffer | undefined;

/**
 * A mutual-exclusion lock shared by threads. Same methods as {@link Lock}; `handle` + `SharedLock.from(handle)`
 * rebuild it in another worker. Waiting uses `Atomics.waitAsync`, so it never blocks an event loop.
 *
 * Fairness is best-effort: waiters are woken one at a time in the order the engine queued them, but a thread that
 * arrives just as the lock is released may take it first. Not owned: any thread may release it.
 *
 * @example
 * ```ts
 * const lock = new SharedLock();
 * new Worker(url, { workerData: { lock: lock.handle } });
 * // in the worker:
 * const lock = SharedLock.from(workerData.lock);
 * await lock.runExclusive(() => { counter[0] += 1; });
 * ```
 */
export class SharedLock {
  readonly #word: Int32Array;
  readonly #handle: SharedLockHandle;

  constructor() {
    const sab = adopting ?? new SharedArrayBuffer(4);
    adopting = undefined;
    this.#handle = { kind: "wharf.SharedLock", sab };
    this.#word = new Int32Array(sab);
  }

  /**
   * Rebuilds a lock from a handle made in another thread; both objects are the same lock.
   *
   * @example
   * ```ts
   * const lock = SharedLock.from(workerData.lock);
   * ```
   */
  static from(handle: SharedLockHandle): SharedLock {
    adopting = checkHandle(handle, "wharf.SharedLock", 4);
    return new SharedLock();
  }

  /** Structured-cloneable description of this lock. */
  get handle(): SharedLockHandle {
    return this.#handle;
  }

  /**
   * Waits until the lock is free and takes it: `true` once held, `false` on timeout, rejects with `signal.reason`
   * on abort (nothing held).
   *
   * @example
   * ```ts
   * if (await lock.acquire({ timeout: 100 })) { try { work(); } finally { lock.release(); } }
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const invalid = waitOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (Atomics.compareExchange(this.#word, 0, FREE, HELD) === FREE) return Promise.resolve(true);
    if (options?.timeout === 0) return Promise.resolve(false);
    return this.#acquireSlow(options);
  }

  async #acquireSlow(options: WaitOptions | undefined): Promise<boolean> {
    const deadline = deadlineOf(options?.timeout);
    for (;;) {
      // Mark contended before sleeping so that the holder's release() knows to notify.
      if (Atomics.exchange(this.#word, 0, CONTENDED) === FREE) return true;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) return false;
      await waitWhileEqual(this.#word, 0, CONTENDED, timeout, options?.signal);
    }
  }

  /**
   * Takes the lock if it is free right now.
   *
   * @example
   * ```ts
   * if (lock.tryAcquire()) lock.release();
   * ```
   */
  tryAcquire(): boolean {
    return Atomics.compareExchange(this.#word, 0, FREE, HELD) === FREE;
  }

  /**
   * Releases the lock and wakes one waiting thread. Throws {@link NotHeldError} if it is not locked.
   *
   * @example
   * ```ts
   * lock.release();
   * ```
   */
  release(): void {
    if (Atomics.load(this.#word, 0) === FREE) throw new NotHeldError("SharedLock.release() called on an unlocked lock");
    if (Atomics.exchange(this.#word, 0, FREE) === CONTENDED) Atomics.notify(this.#word, 0, 1);
  }

  /**
   * True while some thread holds the lock.
   *
   * @example
   * ```ts
   * console.log(lock.locked());
   * ```
   */
  locked(): boolean {
    return Atomics.load(this.#word, 0) !== FREE;
  }

  /**
   * Acquires, runs `fn`, always releases. Rejects with {@link WaitTimeoutError} if `timeout` ran out first.
   *
   * @example
   * ```ts
   * await lock.runExclusive(() => { shared[0] += 1; });
   * ```
   */
  async runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    if (!(await this.acquire(options))) {
      throw new WaitTimeoutError(`SharedLock.runExclusive() could not acquire the lock within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
