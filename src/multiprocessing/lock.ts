/**
 * Lock and RLock shared by processes: `multiprocessing.Lock` and `multiprocessing.RLock`.
 */
import { WaitTimeoutError } from "../sync/errors.js";
import type { WaitOptions } from "../sync/options.js";
import { registerHandle, SharedObject } from "./handle.js";
import "./objects/lock-state.js";

/** Shared by Lock, RLock and Condition: acquire / release / runExclusive over a lock op. */
export abstract class LockLike extends SharedObject {
  /**
   * Waits until the lock is free and takes it: `true` once held, `false` if `timeout` ran out; rejects with
   * `signal.reason` on abort (nothing held: a grant that raced the abort is released at once) and with
   * `BrokerGoneError` if the process holding the lock's state exits. FIFO across processes.
   *
   * @example
   * ```ts
   * if (await lock.acquire({ timeout: 1000 })) {
   *   try { await work(); } finally { await lock.release(); }
   * }
   * ```
   */
  async acquire(options?: WaitOptions): Promise<boolean> {
    const got = (await this.lockOp("acquire", options)) as boolean;
    if (got) this.noteHeld(1);
    if (got && options?.signal?.aborted) {
      await this.release();
      throw options.signal.reason;
    }
    return got;
  }

  /**
   * Takes the lock if it is free right now.
   *
   * @example
   * ```ts
   * if (await lock.tryAcquire()) await lock.release();
   * ```
   */
  async tryAcquire(): Promise<boolean> {
    const got = (await this.lockOp("acquire", { timeout: 0 })) as boolean;
    if (got) this.noteHeld(1);
    return got;
  }

  /**
   * Releases the lock, handing it to the oldest waiter of any process. Rejects with `NotHeldError` if unlocked
   * (an RLock: `NotOwnerError` if another process holds it).
   *
   * @example
   * ```ts
   * await lock.release();
   * ```
   */
  release(): Promise<void> {
    return this.lockOp("release", undefined);
  }

  /**
   * True while some process holds the lock.
   *
   * @example
   * ```ts
   * console.log(await lock.locked());
   * ```
   */
  locked(): Promise<boolean> {
    return this.lockOp("locked", undefined) as Promise<boolean>;
  }

  /**
   * Number of callers, of every process, waiting in `acquire()` now.
   *
   * @example
   * ```ts
   * console.log(await lock.waiting());
   * ```
   */
  waiting(): Promise<number> {
    return this.lockOp("waiting", undefined) as Promise<number>;
  }

  /**
   * Acquires, runs `fn`, and always releases. Rejects with `WaitTimeoutError` if `timeout` ran out first.
   *
   * @example
   * ```ts
   * await lock.runExclusive(async () => { tickets = await readTickets(); await writeTickets(tickets - 1); });
   * ```
   */
  async runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    if (!(await this.acquire(options))) {
      throw new WaitTimeoutError(`runExclusive() could not acquire the lock within ${options?.timeout} ms`);
    }
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }

  /** Sends a lock op; the Condition routes it through its own object. @internal */
  protected lockOp(op: string, options: WaitOptions | undefined): Promise<any> {
    if (op === "acquire") return this.waitOp(op, options);
    if (op === "release") return this.releaseHeld(op, [], 1);
    return this.call(op, []);
  }
}

/**
 * A mutual-exclusion lock shared by processes. Create it in one process and pass it to children as an argument;
 * every copy is the same lock. Like Python's, any process may release it.
 *
 * A process that dies while holding it does not deadlock the others: its holder's connection closes, and the
 * lock passes to the next waiter as on a release (the protected data may be half-updated: that is for the
 * program to check). Python's `multiprocessing.Lock` stays locked for ever in that case.
 *
 * @example
 * ```ts
 * import { Lock, Process } from "wharf/multiprocessing";
 * const lock = new Lock();
 * const p = new Process(task(new URL("./buyer.js", import.meta.url), "buy"), [lock]);
 * p.start();
 * await p.join();
 * ```
 */
export class Lock extends LockLike {
  constructor() {
    super("Lock", () => []);
  }
}

/**
 * A reentrant lock shared by processes: the process that holds it may acquire it again and must release it as
 * many times. The owner is the process, not an async context (see docs/sync.md): two async functions of one
 * process both re-enter it; use an in-loop `RLock` of `wharf/sync` inside one process for that.
 *
 * @example
 * ```ts
 * const rlock = new RLock();
 * await rlock.acquire();
 * await rlock.acquire(); // the same process: no deadlock
 * await rlock.release();
 * await rlock.release();
 * ```
 */
export class RLock extends LockLike {
  constructor() {
    super("RLock", () => []);
  }

  /**
   * True if this process holds the lock.
   *
   * @example
   * ```ts
   * console.log(await rlock.isOwned());
   * ```
   */
  isOwned(): Promise<boolean> {
    return this.call("owned", []) as Promise<boolean>;
  }
}

registerHandle("Lock", Lock);
registerHandle("RLock", RLock);
