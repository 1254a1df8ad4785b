/**
 * Barrier: a fixed number of parties wait for each other, Python's `threading.Barrier`.
 */
import { BrokenBarrierError } from "./errors.js";
import { validateInteger, validateWaitOptions, waitOptionsError, type WaitOptions } from "./options.js";
import { WaitQueue, type Waiter } from "./waiters.js";

/** Options of {@link Barrier}. */
export interface BarrierOptions {
  /** Called once per cycle by the last party to arrive, before the others are released. If it throws, the barrier breaks. */
  action?: (() => void) | undefined;
  /** Default timeout (ms) of `wait()` when the call gives none. */
  timeout?: number | undefined;
}

/**
 * A cyclic barrier for `parties` callers. Each `wait()` resolves a distinct index in `0..parties-1` (the order of
 * arrival) once all parties have arrived; the barrier then starts a new cycle.
 *
 * Breaking, as in Python: a waiter that times out breaks the barrier (it rejects with {@link BrokenBarrierError}, as do
 * all others); an aborted waiter breaks it too, rejecting with `signal.reason` while the others get
 * BrokenBarrierError. `abort()` breaks it on purpose; `reset()` makes it usable again (rejecting anyone still waiting).
 *
 * @example
 * ```ts
 * const barrier = new Barrier(3, { action: () => console.log("all arrived") });
 * await Promise.all([0, 1, 2].map(async () => { await prepare(); await barrier.wait(); await run(); }));
 * ```
 */
export class Barrier {
  readonly #parties: number;
  readonly #action: (() => void) | undefined;
  readonly #timeout: number | undefined;
  readonly #waiters = new WaitQueue<number>();
  #count = 0;
  #broken = false;

  constructor(parties: number, options: BarrierOptions = {}) {
    validateInteger(parties, "parties", 1);
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    if (options.action !== undefined && typeof options.action !== "function") {
      throw new TypeError("options.action must be a function");
    }
    validateWaitOptions({ timeout: options.timeout });
    this.#parties = parties;
    this.#action = options.action;
    this.#timeout = options.timeout;
  }

  /** Number of parties needed to trip the barrier. */
  get parties(): number {
    return this.#parties;
  }

  /** Number of parties currently waiting. */
  get nWaiting(): number {
    return this.#count;
  }

  /** True once broken, until `reset()`. */
  get broken(): boolean {
    return this.#broken;
  }

  /**
   * Waits for all parties. Resolves this party's arrival index; rejects with {@link BrokenBarrierError} if the barrier
   * is or becomes broken, or with the action's error for the party that ran a throwing action.
   *
   * @example
   * ```ts
   * const index = await barrier.wait({ timeout: 5000 });
   * if (index === 0) console.log("first to arrive");
   * ```
   */
  wait(options?: WaitOptions): Promise<number> {
    const invalid = waitOptionsError(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    if (this.#broken) return Promise.reject(new BrokenBarrierError());
    if (options?.signal?.aborted) {
      this.#break();
      return Promise.reject(options.signal.reason);
    }
    const index = this.#count;
    this.#count += 1;
    if (this.#count === this.#parties) return this.#trip(index);
    const timeout = options?.timeout ?? this.#timeout;
    const waitOptions = { timeout, signal: options?.signal };
    return this.#waiters.wait(
      waitOptions,
      (waiter) => this.#onTimeout(waiter),
      index,
      () => this.#break(),
    );
  }

  /**
   * Breaks the barrier: current and later waiters reject with {@link BrokenBarrierError} until `reset()`.
   *
   * @example
   * ```ts
   * barrier.abort();
   * ```
   */
  abort(): void {
    this.#break();
  }

  /**
   * Returns the barrier to its initial, unbroken state; parties still waiting reject with {@link BrokenBarrierError}.
   *
   * @example
   * ```ts
   * if (barrier.broken) barrier.reset();
   * ```
   */
  reset(): void {
    this.#waiters.failAll(() => new BrokenBarrierError("barrier was reset"));
    this.#count = 0;
    this.#broken = false;
  }

  #trip(index: number): Promise<number> {
    if (this.#action !== undefined) {
      try {
        this.#action();
      } catch (error) {
        this.#break();
        return Promise.reject(error);
      }
    }
    this.#count = 0;
    for (let waiter = this.#waiters.shift(); waiter !== null; waiter = this.#waiters.shift()) {
      this.#waiters.grant(waiter, waiter.data as number);
    }
    return Promise.resolve(index);
  }

  #onTimeout(waiter: Waiter<number>): void {
    waiter.reject(new BrokenBarrierError("a party timed out waiting at the barrier"));
    this.#break();
  }

  #break(): void {
    this.#broken = true;
    this.#count = 0;
    this.#waiters.failAll(() => new BrokenBarrierError());
  }
}
