/**
 * Semaphore and BoundedSemaphore shared by processes.
 */
import { WaitTimeoutError } from "../sync/errors.js";
import { validateInteger, type WaitOptions } from "../sync/options.js";
import { registerHandle, SharedObject } from "./handle.js";
import "./objects/semaphore-state.js";

/**
 * A counter of permits shared by processes, FIFO. Permits a process took and did not give back return to the
 * others when it dies (the semaphore counts a resource: stalls, connections, slots).
 *
 * @example
 * ```ts
 * const stalls = new Semaphore(5);
 * await stalls.runExclusive(async () => { await useTheStall(); });
 * ```
 */
export class Semaphore extends SharedObject {
  constructor(value = 1) {
    super(new.target === BoundedSemaphore ? "BoundedSemaphore" : "Semaphore", () => [validateInteger(value, "value", 0)]);
  }

  /**
   * Takes a permit, waiting while there is none: `true` once taken, `false` if `timeout` ran out; rejects with
   * `signal.reason` on abort (nothing taken).
   *
   * @example
   * ```ts
   * if (await sem.acquire({ timeout: 500 })) await sem.release();
   * ```
   */
  async acquire(options?: WaitOptions): Promise<boolean> {
    const got = (await this.waitOp("acquire", options)) as boolean;
    if (got) this.noteHeld(1);
    if (got && options?.signal?.aborted) {
      await this.release();
      throw options.signal.reason;
    }
    return got;
  }

  /**
   * Takes a permit if one is free now.
   *
   * @example
   * ```ts
   * if (await sem.tryAcquire()) await sem.release();
   * ```
   */
  async tryAcquire(): Promise<boolean> {
    const got = (await this.waitOp("acquire", { timeout: 0 })) as boolean;
    if (got) this.noteHeld(1);
    return got;
  }

  /**
   * Gives back `n` permits. A BoundedSemaphore rejects with `TooManyReleasesError` past its initial value.
   *
   * @example
   * ```ts
   * await sem.release();
   * ```
   */
  release(n = 1): Promise<void> {
    try {
      validateInteger(n, "n", 1);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.releaseHeld("release", [n], n);
  }

  /**
   * Permits free right now.
   *
   * @example
   * ```ts
   * console.log(await sem.getValue());
   * ```
   */
  getValue(): Promise<number> {
    return this.call("value", []) as Promise<number>;
  }

  /**
   * Acquires, runs `fn`, and always releases. Rejects with `WaitTimeoutError` if `timeout` ran out first.
   *
   * @example
   * ```ts
   * await stalls.runExclusive(() => wash());
   * ```
   */
  async runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    if (!(await this.acquire(options))) {
      throw new WaitTimeoutError(`runExclusive() could not acquire a permit within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
}

/**
 * A Semaphore that refuses to be released past its initial value (`TooManyReleasesError`, E_TOO_MANY_RELEASES).
 *
 * @example
 * ```ts
 * const pool = new BoundedSemaphore(2);
 * await pool.release().catch((err) => console.log(err.code)); // "E_TOO_MANY_RELEASES"
 * ```
 */
export class BoundedSemaphore extends Semaphore {}

registerHandle("Semaphore", Semaphore);
registerHandle("BoundedSemaphore", BoundedSemaphore);
