/**
 * RLock: a re-entrant lock owned by an async context, Python's `threading.RLock` for await chains.
 */
import { currentContext, ensureContext, isWithin, runInChildContext, type OwnerContext } from "./context.js";
import { NotHeldError, NotOwnerError, WaitTimeoutError } from "./errors.js";
import { kAcquireRestore, kIsOwned, kReleaseSave } from "./lock-protocol.js";
import { RESOLVED_FALSE, RESOLVED_TRUE, waitOptionsError, type WaitOptions } from "./options.js";
import { resolveFalse, WaitQueue } from "./waiters.js";

/** Options of {@link RLock}; none today. */
export type RLockOptions = Record<string, never>;

interface Saved {
  owner: OwnerContext;
  count: number;
}

/**
 * A re-entrant lock. The async context that holds it (and any context started inside it) may acquire it again;
 * each acquire needs a matching release. Other contexts wait, first-come first-served, as with {@link Lock}.
 *
 * What counts as one context (see docs/sync.md): `runExclusive(fn)` and `RLock.context(fn)` run `fn` in a fresh
 * context, which also covers every async operation `fn` starts. A bare `acquire()` outside any context makes the
 * rest of the calling async function a context of its own.
 *
 * @example
 * ```ts
 * const rlock = new RLock();
 * async function transfer() { await rlock.runExclusive(async () => { await debit(); await credit(); }); }
 * async function debit() { await rlock.runExclusive(async () => { ... }); } // nested: no deadlock
 * ```
 */
export class RLock {
  #owner: OwnerContext | undefined = undefined;
  #count = 0;
  readonly #waiters = new WaitQueue<boolean>();

  /**
   * Runs `fn` in a fresh async context, so that concurrently started tasks have distinct owner identities even when
   * they use bare `acquire()`/`release()`.
   *
   * @example
   * ```ts
   * await Promise.all([1, 2].map((id) => RLock.context(() => worker(id))));
   * ```
   */
  static context<R>(fn: () => R): R {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    return runInChildContext(fn);
  }

  /**
   * Acquires the lock for the current async context: at once if it already owns it (the count goes up), otherwise
   * after the contexts ahead of it. Resolves `false` on timeout; rejects with `signal.reason` on abort.
   *
   * @example
   * ```ts
   * await rlock.acquire();
   * try { await rlock.acquire(); rlock.release(); } finally { rlock.release(); }
   * ```
   */
  acquire(options?: WaitOptions): Promise<boolean> {
    if (options !== undefined) {
      const invalid = waitOptionsError(options);
      if (invalid !== undefined) return Promise.reject(invalid);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    const context = ensureContext();
    if (this.#take(context)) return RESOLVED_TRUE;
    if (options?.timeout === 0) return RESOLVED_FALSE;
    return this.#waiters.wait(options, resolveFalse, context);
  }

  /**
   * Acquires if the lock is free or already owned by this context, without waiting.
   *
   * @example
   * ```ts
   * if (rlock.tryAcquire()) rlock.release();
   * ```
   */
  tryAcquire(): boolean {
    return this.#take(ensureContext());
  }

  /**
   * Releases one level. Throws {@link NotHeldError} if unlocked and {@link NotOwnerError} if another context owns it.
   *
   * @example
   * ```ts
   * rlock.release();
   * ```
   */
  release(): void {
    const owner = this.#owner;
    if (owner === undefined) throw new NotHeldError("RLock.release() called on an unlocked lock");
    if (!isWithin(currentContext(), owner)) {
      throw new NotOwnerError("RLock.release() called by an async context that does not own the lock");
    }
    this.#count -= 1;
    if (this.#count === 0) this.#handOver();
  }

  /**
   * True while any context holds the lock.
   *
   * @example
   * ```ts
   * console.log(rlock.locked());
   * ```
   */
  locked(): boolean {
    return this.#owner !== undefined;
  }

  /**
   * True if the current async context holds the lock (Python's `_is_owned`).
   *
   * @example
   * ```ts
   * await rlock.runExclusive(() => console.log(rlock.isOwned())); // true
   * ```
   */
  isOwned(): boolean {
    return this.#owner !== undefined && isWithin(currentContext(), this.#owner);
  }

  /** How many times the owner has acquired it (0 when unlocked). */
  get count(): number {
    return this.#count;
  }

  /**
   * Runs `fn` in a fresh child context holding the lock, always releasing it. Nested calls from inside `fn` re-enter.
   * Rejects with {@link WaitTimeoutError} if `timeout` ran out first.
   *
   * @example
   * ```ts
   * await rlock.runExclusive(() => rlock.runExclusive(() => "nested is fine"));
   * ```
   */
  runExclusive<R>(fn: () => R | PromiseLike<R>, options?: WaitOptions): Promise<Awaited<R>> {
    if (typeof fn !== "function") return Promise.reject(new TypeError("fn must be a function"));
    return runInChildContext(async (): Promise<Awaited<R>> => {
      if (!(await this.acquire(options))) {
        throw new WaitTimeoutError(`RLock.runExclusive() could not acquire the lock within ${options?.timeout} ms`);
      }
      try {
        return await fn();
      } finally {
        this.release();
      }
    });
  }

  #take(context: OwnerContext): boolean {
    if (this.#owner === undefined) {
      this.#owner = context;
      this.#count = 1;
      context.held += 1;
      return true;
    }
    if (isWithin(context, this.#owner)) {
      this.#count += 1;
      return true;
    }
    return false;
  }

  #handOver(): void {
    this.#owner!.held -= 1;
    const next = this.#waiters.shift();
    if (next === null) {
      this.#owner = undefined;
      return;
    }
    this.#owner = next.data as OwnerContext;
    this.#owner.held += 1;
    this.#count = 1;
    this.#waiters.grant(next, true);
  }

  /** @internal */
  [kReleaseSave](): Saved {
    const saved = { owner: this.#owner!, count: this.#count };
    this.#count = 0;
    this.#handOver();
    return saved;
  }

  /** @internal */
  async [kAcquireRestore](saved: unknown): Promise<void> {
    const { owner, count } = saved as Saved;
    if (this.#owner === undefined) {
      this.#owner = owner;
      owner.held += 1;
    } else {
      await this.#waiters.wait(undefined, resolveFalse, owner);
    }
    this.#count = count;
  }

  /** @internal */
  [kIsOwned](): boolean {
    return this.isOwned();
  }
}
