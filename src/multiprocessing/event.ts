/**
 * Event, Condition and Barrier shared by processes.
 */
import { validateFunction, validateInteger, deadlineOf, remainingUntil, type WaitOptions } from "../sync/options.js";
import { registerHandle, SharedObject } from "./handle.js";
import { LockLike, type Lock, type RLock } from "./lock.js";
import "./objects/lock-state.js";
import "./objects/sync-states.js";

/**
 * A flag shared by processes: `wait()` parks until some process calls `set()`.
 *
 * @example
 * ```ts
 * const green = new Event();
 * // a car process: await green.wait(); drive();
 * await green.set();
 * ```
 */
export class Event extends SharedObject {
  constructor() {
    super("Event", () => []);
  }

  /** Sets the flag and wakes every waiter of every process. @example `await ev.set();` */
  set(): Promise<void> {
    return this.call("set", []) as Promise<void>;
  }

  /** Clears the flag. @example `await ev.clear();` */
  clear(): Promise<void> {
    return this.call("clear", []) as Promise<void>;
  }

  /** Whether the flag is set. @example `if (await ev.isSet()) go();` */
  isSet(): Promise<boolean> {
    return this.call("isSet", []) as Promise<boolean>;
  }

  /**
   * Waits until the flag is set: `true`, or `false` if `timeout` ran out; `signal.reason` on abort.
   *
   * @example
   * ```ts
   * if (!(await ev.wait({ timeout: 1000 }))) console.log("still red");
   * ```
   */
  wait(options?: WaitOptions): Promise<boolean> {
    return this.waitOp("wait", options) as Promise<boolean>;
  }
}

/**
 * A condition variable shared by processes, over a Lock or RLock of the same process (default: a new RLock, as
 * in Python). Hold the lock around `wait()` and `notify()`; `wait()` releases it while parked and takes it back.
 *
 * @example
 * ```ts
 * const cond = new Condition();
 * await cond.runExclusive(async () => {
 *   while (!(await ready.get("done"))) await cond.wait();
 * });
 * ```
 */
export class Condition extends LockLike {
  constructor(lock?: Lock | RLock) {
    super("Condition", () => {
      if (lock !== undefined && !(lock instanceof LockLike)) throw new TypeError("lock must be a Lock or RLock of wharf/multiprocessing");
      return [lock?.ref.id];
    });
  }

  /**
   * Releases the lock, waits for a `notify()` (`true`) or the timeout (`false`), and takes the lock back before
   * settling. Rejects with `NotHeldError` without the lock.
   *
   * @example
   * ```ts
   * await cond.acquire();
   * try { await cond.wait({ timeout: 1000 }); } finally { await cond.release(); }
   * ```
   */
  wait(options?: WaitOptions): Promise<boolean> {
    return this.waitOp("wait", options) as Promise<boolean>;
  }

  /**
   * Waits until `predicate()` (which may be async) is truthy, re-checking after each notify; resolves its value,
   * or its last falsy value once `timeout` ran out.
   *
   * @example
   * ```ts
   * await cond.runExclusive(() => cond.waitFor(async () => (await items.length()) > 0));
   * ```
   */
  async waitFor<T>(predicate: () => T | PromiseLike<T>, options?: WaitOptions): Promise<Awaited<T>> {
    validateFunction(predicate, "predicate");
    const deadline = deadlineOf(options?.timeout);
    let value = await predicate();
    while (!value) {
      const left = remainingUntil(deadline);
      if (left === 0) break;
      await this.wait({ timeout: left === Infinity ? undefined : left, signal: options?.signal });
      value = await predicate();
    }
    return value;
  }

  /** Wakes up to `n` waiters of any process. @example `await cond.notify();` */
  notify(n = 1): Promise<void> {
    try {
      validateInteger(n, "n", 0);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.call("notify", [n]) as Promise<void>;
  }

  /** Wakes every waiter. @example `await cond.notifyAll();` */
  notifyAll(): Promise<void> {
    return this.call("notify", [Number.MAX_SAFE_INTEGER]) as Promise<void>;
  }

  protected override lockOp(op: string, options: WaitOptions | undefined): Promise<any> {
    if (op === "acquire") return this.waitOp("lockOp", options, ["acquire"]);
    if (op === "release") return this.releaseHeld("lockOp", ["release"], 1);
    return this.call("lockOp", [op]);
  }
}

/** Options of {@link Barrier}. */
export interface BarrierOptions {
  /** Default timeout of `wait()`, in milliseconds. */
  timeout?: number | undefined;
}

/**
 * A barrier for `parties` processes: each `wait()` parks until all have arrived, then all go on together. A
 * party that times out, is aborted, or whose process dies while waiting breaks the barrier for the others
 * (`BrokenBarrierError`), as in Python.
 *
 * @example
 * ```ts
 * const start = new Barrier(3);
 * // in each of 3 processes:
 * const index = await start.wait();
 * ```
 */
export class Barrier extends SharedObject {
  constructor(parties: number, options: BarrierOptions = {}) {
    super(
      "Barrier",
      () => [validateInteger(parties, "parties", 1), options.timeout],
      () => parties,
    );
  }

  /** Number of processes (calls) needed to trip the barrier. */
  get parties(): number {
    return this.ref.extra as number;
  }

  /**
   * Waits for the others; resolves this party's arrival index (0 .. parties-1).
   *
   * @example
   * ```ts
   * if ((await barrier.wait()) === 0) console.log("last one in, first one out");
   * ```
   */
  wait(options?: WaitOptions): Promise<number> {
    return this.waitOp("wait", options) as Promise<number>;
  }

  /** Breaks the barrier: waiters reject with BrokenBarrierError until `reset()`. @example `await barrier.abort();` */
  abort(): Promise<void> {
    return this.call("abort", []) as Promise<void>;
  }

  /** Back to the initial state; current waiters reject with BrokenBarrierError. @example `await barrier.reset();` */
  reset(): Promise<void> {
    return this.call("reset", []) as Promise<void>;
  }

  /** Parties waiting now, and whether the barrier is broken. @example `const { broken } = await barrier.state();` */
  state(): Promise<{ parties: number; nWaiting: number; broken: boolean }> {
    return this.call("state", []) as Promise<{ parties: number; nWaiting: number; broken: boolean }>;
  }
}

registerHandle("Event", Event);
registerHandle("Condition", Condition);
registerHandle("Barrier", Barrier);
