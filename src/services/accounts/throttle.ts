/** Options of a {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failures allowed before waiting is imposed. Default 3. */
  freeFailures?: number;
  /** First wait, doubled on each further failure. Default 1,000 ms. */
  baseDelay?: number;
  /** Longest wait. Default 60,000 ms. */
  maxDelay?: number;
  /** Failures are forgotten after this long without one. Default 15 minutes. */
  forgetAfter?: number;
  /** Most keys remembered (oldest forgotten first), so a flood of names cannot exhaust memory. Default 100,000. */
  maxKeys?: number;
}

interface Entry {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

/**
 * Slows down password guessing: after a few failures for a key (a peer address, a user name), further attempts
 * are refused until a wait that doubles with each failure has passed. A success clears the key.
 *
 * @example
 * ```ts
 * const throttle = new LoginThrottle();
 * const wait = throttle.waitFor(["peer:10.0.0.1", "user:alice"]); // 0 when an attempt may be made
 * throttle.failed(["peer:10.0.0.1", "user:alice"]);
 * ```
 */
export class LoginThrottle {
  #entries = new Map<string, Entry>();
  #freeFailures: number;
  #baseDelay: number;
  #maxDelay: number;
  #forgetAfter: number;
  #maxKeys: number;

  constructor(options: LoginThrottleOptions = {}) {
    this.#freeFailures = options.freeFailures ?? 3;
    this.#baseDelay = options.baseDelay ?? 1_000;
    this.#maxDelay = options.maxDelay ?? 60_000;
    this.#forgetAfter = options.forgetAfter ?? 15 * 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** Milliseconds to wait before any of these keys may try again (0: now). */
  waitFor(keys: string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const entry = this.#live(key, now);
      if (entry !== undefined) wait = Math.max(wait, entry.blockedUntil - now);
    }
    return wait;
  }

  /** Records a failed attempt for each key. */
  failed(keys: string[], now = Date.now()): void {
    for (const key of keys) {
      const entry = this.#live(key, now) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
      entry.failures += 1;
      entry.lastFailure = now;
      const over = entry.failures - this.#freeFailures;
      if (over >= 0) entry.blockedUntil = now + Math.min(this.#maxDelay, this.#baseDelay * 2 ** Math.min(over, 30));
      this.#entries.delete(key); // re-insert: the Map's order is then least recently failed first
      this.#entries.set(key, entry);
    }
    while (this.#entries.size > this.#maxKeys) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }

  /** Clears the keys after a success. */
  succeeded(keys: string[]): void {
    for (const key of keys) this.#entries.delete(key);
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.lastFailure > this.#forgetAfter) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
