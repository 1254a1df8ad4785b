/**
 * Event: a flag that callers can wait for, Python's `threading.Event`.
 */
import { RESOLVED_FALSE, RESOLVED_TRUE, waitOptionsError, type WaitOptions } from "./options.js";
import { resolveFalse, WaitQueue } from "./waiters.js";

/** Options of {@link Event}; none today. */
export type EventOptions = Record<string, never>;

/**
 * A boolean flag. `wait()` resolves `true` once the flag is set (at once if it already is); `set()` wakes every
 * waiter, in arrival order; `clear()` lowers the flag for later waiters.
 *
 * Named `Event` as in Python; import it under another name if it clashes with the DOM-style global `Event`.
 *
 * @example
 * ```ts
 * const ready = new Event();
 * setTimeout(() => ready.set(), 100);
 * await ready.wait(); // true
 * ```
 */
export class Event {
  #flag = false;
  readonly #waiters = new WaitQueue<boolean>();

  /**
   * True while the flag is set.
   *
   * @example
   * ```ts
   * if (!stop.isSet()) await step();
   * ```
   */
  isSet(): boolean {
    return this.#flag;
  }

  /**
   * Sets the flag and wakes every waiter.
   *
   * @example
   * ```ts
   * ready.set();
   * ```
   */
  set(): void {
    this.#flag = true;
    for (let waiter = this.#waiters.shift(); waiter !== null; waiter = this.#waiters.shift()) {
      this.#waiters.grant(waiter, true);
    }
  }

  /**
   * Lowers the flag; later `wait()` calls wait again.
   *
   * @example
   * ```ts
   * ready.clear();
   * ```
   */
  clear(): void {
    this.#flag = false;
  }

  /** Number of callers waiting in `wait()`. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Waits until the flag is set. Resolves `true` when set, `false` if `timeout` ran out; rejects with
   * `signal.reason` on abort.
   *
   * @example
   * ```ts
   * if (!(await ready.wait({ timeout: 1000 }))) console.log("gave up");
   * ```
   */
  wait(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const invalid = waitOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#flag) return RESOLVED_TRUE;
    if (options?.timeout === 0) return RESOLVED_FALSE;
    return this.#waiters.wait(options, resolveFalse);
  }
}
