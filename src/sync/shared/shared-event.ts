/**
 * SharedEvent: an Event that works across worker threads.
 */
import { deadlineOf, remainingUntil, validateWaitOptions, type WaitOptions } from "../options.js";
import { checkHandle, waitWhileEqual } from "./atomics-wait.js";

/** Options of {@link SharedEvent}; none today. */
export type SharedEventOptions = Record<string, never>;

/** The transferable description of a {@link SharedEvent}. */
export interface SharedEventHandle {
  readonly kind: "wharf.SharedEvent";
  readonly sab: SharedArrayBuffer;
}

let adopting: SharedArrayBuffer | undefined;

/**
 * A flag shared by threads. Same methods as {@link Event}: `set()` wakes every waiting thread.
 *
 * @example
 * ```ts
 * const go = new SharedEvent();
 * const worker = new Worker(url, { workerData: { go: go.handle } });
 * go.set(); // the worker's `await SharedEvent.from(workerData.go).wait()` resolves true
 * ```
 */
export class SharedEvent {
  readonly #word: Int32Array;
  readonly #handle: SharedEventHandle;

  constructor() {
    const sab = adopting ?? new SharedArrayBuffer(4);
    adopting = undefined;
    this.#word = new Int32Array(sab);
    this.#handle = { kind: "wharf.SharedEvent", sab };
  }

  /**
   * Rebuilds an event from a handle made in another thread.
   *
   * @example
   * ```ts
   * const go = SharedEvent.from(workerData.go);
   * ```
   */
  static from(handle: SharedEventHandle): SharedEvent {
    adopting = checkHandle(handle, "wharf.SharedEvent", 4);
    return new SharedEvent();
  }

  /** Structured-cloneable description of this event. */
  get handle(): SharedEventHandle {
    return this.#handle;
  }

  /** True while the flag is set. */
  isSet(): boolean {
    return Atomics.load(this.#word, 0) === 1;
  }

  /**
   * Sets the flag and wakes every waiter in every thread.
   *
   * @example
   * ```ts
   * go.set();
   * ```
   */
  set(): void {
    Atomics.store(this.#word, 0, 1);
    Atomics.notify(this.#word, 0);
  }

  /**
   * Lowers the flag.
   *
   * @example
   * ```ts
   * go.clear();
   * ```
   */
  clear(): void {
    Atomics.store(this.#word, 0, 0);
  }

  /**
   * Waits until the flag is set: `true`, `false` on timeout, rejects with `signal.reason` on abort.
   *
   * @example
   * ```ts
   * await go.wait({ timeout: 5000 });
   * ```
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    validateWaitOptions(options);
    options?.signal?.throwIfAborted();
    const deadline = deadlineOf(options?.timeout);
    for (;;) {
      if (this.isSet()) return true;
      const timeout = remainingUntil(deadline);
      if (timeout === 0) return false;
      await waitWhileEqual(this.#word, 0, 0, timeout, options?.signal);
    }
  }
}
