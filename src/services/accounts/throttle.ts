import { USER_NAME } from "./store.js";

/** Options of a {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /**
   * Failed logins one address may make, whatever the user names, before its next attempt must wait. Default 10:
   * many people may share one address (a NAT, an office), so this allowance is wider than the one per user.
   */
  addressFreeFailures?: number;
  /** Failed logins one address may make for one user name before the next attempt of that pair must wait. Default 3. */
  userFreeFailures?: number;
  /** First wait, doubled on each further failure. Default 1,000 ms. */
  baseDelay?: number;
  /** Longest wait. Default 60,000 ms. */
  maxDelay?: number;
  /** Failures are forgotten after this long without one. Default 15 minutes. */
  forgetAfter?: number;
  /**
   * Most entries remembered per tier (addresses; address and user pairs), least recently failed forgotten first,
   * so that a spray of names or addresses cannot exhaust memory. Default 100,000.
   */
  maxKeys?: number;
}

/**
 * What `auth` asks of a login throttle: {@link LoginThrottle} counts in this process, `RedisLoginThrottle`
 * (redis-throttle.ts) across a cluster. The shared one answers asynchronously.
 */
export interface LoginGate {
  attempt<T>(address: string, user: string, attempt: () => Promise<T>): Promise<T>;
  waitFor(address: string, user: string): number | Promise<number>;
  failed(address: string, user: string): void | Promise<void>;
  succeeded(address: string, user: string): void | Promise<void>;
}

interface Entry {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

/** One tier of the throttle: failure counts by key, in least-recently-failed-first order, bounded in size. */
class Tier {
  readonly #entries = new Map<string, Entry>();
  readonly #free: number;
  readonly #throttle: Required<Omit<LoginThrottleOptions, "addressFreeFailures" | "userFreeFailures">>;

  constructor(free: number, throttle: Required<Omit<LoginThrottleOptions, "addressFreeFailures" | "userFreeFailures">>) {
    this.#free = free;
    this.#throttle = throttle;
  }

  get size(): number {
    return this.#entries.size;
  }

  wait(key: string, now: number): number {
    const entry = this.#live(key, now);
    return entry === undefined ? 0 : Math.max(0, entry.blockedUntil - now);
  }

  fail(key: string, now: number): void {
    const entry = this.#live(key, now) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
    entry.failures += 1;
    entry.lastFailure = now;
    entry.blockedUntil = this.#blockedUntil(entry);
    this.#entries.delete(key); // re-insert: the Map's order is then least recently failed first
    this.#entries.set(key, entry);
    // Evicting the oldest keeps memory bounded; what is evicted is what an attacker failed with longest ago.
    while (this.#entries.size > this.#throttle.maxKeys) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** Failures `key` may still make before it must wait (0 once it is over its allowance). */
  freeLeft(key: string, now: number): number {
    return Math.max(0, this.#free - (this.#live(key, now)?.failures ?? 0));
  }

  #blockedUntil(entry: Entry): number {
    const over = entry.failures - this.#free;
    if (over < 0) return 0;
    const { baseDelay, maxDelay } = this.#throttle;
    return entry.lastFailure + Math.min(maxDelay, baseDelay * 2 ** Math.min(over, 30));
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.lastFailure > this.#throttle.forgetAfter) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/**
 * Slows down password guessing without handing anyone a way to lock a user out. Failures are counted per peer
 * address (for any user names) and per address and user name; once either count passes its allowance, that
 * address (or that address for that user) must wait, doubling with each further failure. Nothing is counted
 * per user name alone: a correct password from an address that has not failed is never refused because other
 * addresses failed (OpenSSH's PerSourcePenalties and fail2ban throttle by source for the same reason).
 *
 * Attempts whose outcome is not known yet count against the allowance ({@link attempt}): an address may have
 * as many attempts running at once as it has failures left (at least one), and so may an address and user pair,
 * so a client that pipelines many guesses cannot have them all checked before the first failures are recorded.
 * Attempts beyond that wait their turn; none is refused for it, so many correct logins from one address at once
 * (a connection pool, a NAT) run concurrently up to the allowance and queue after it. A success clears the address
 * and user pair; the address keeps its failures (one valid account must not wash a guessing address clean).
 *
 * @example
 * ```ts
 * const throttle = new LoginThrottle();
 * await throttle.attempt("10.0.0.1", "alice", async () => {
 *   if (throttle.waitFor("10.0.0.1", "alice") > 0) throw new Error("wait");
 *   if (await store.verify("alice", password)) throttle.succeeded("10.0.0.1", "alice");
 *   else throttle.failed("10.0.0.1", "alice");
 * });
 * ```
 */
export class LoginThrottle implements LoginGate {
  readonly #addresses: Tier;
  readonly #pairs: Tier;
  /** Attempts running and waiting, per address and per address and user pair; an entry goes when both are 0. */
  readonly #slots = new Map<string, { running: number; waiting: (() => void)[] }>();

  constructor(options: LoginThrottleOptions = {}) {
    const shared = {
      baseDelay: checked("baseDelay", options.baseDelay, 1_000),
      maxDelay: checked("maxDelay", options.maxDelay, 60_000),
      forgetAfter: checked("forgetAfter", options.forgetAfter, 15 * 60_000),
      maxKeys: checked("maxKeys", options.maxKeys, 100_000),
    };
    this.#addresses = new Tier(checked("addressFreeFailures", options.addressFreeFailures, 10), shared);
    this.#pairs = new Tier(checked("userFreeFailures", options.userFreeFailures, 3), shared);
  }

  /** Milliseconds `address` must wait before it may try to log in as `user` (0: now). */
  waitFor(address: string, user: string, now = Date.now()): number {
    return Math.max(this.#addresses.wait(address, now), this.#pairs.wait(pairKey(address, user), now));
  }

  /** Records a failed attempt of `address` as `user`. */
  failed(address: string, user: string, now = Date.now()): void {
    this.#addresses.fail(address, now);
    this.#pairs.fail(pairKey(address, user), now);
  }

  /** Clears the failures of `address` as `user` after a success (the address's own failures stay). */
  succeeded(address: string, user: string): void {
    this.#pairs.forget(pairKey(address, user));
  }

  /**
   * Runs `attempt` once `address` (and `address` as `user`) has fewer attempts running than failures left (at
   * least one may always run), so that attempts in flight cannot outrun the allowance. Settles as `attempt` does.
   * Waiting attempts are bounded by the requests the server has in flight (its connection and per-connection
   * limits); each rechecks when one ends.
   */
  async attempt<T>(address: string, user: string, attempt: () => Promise<T>): Promise<T> {
    const pair = pairKey(address, user);
    const keys = [`a\n${address}`, `p\n${pair}`];
    const capacity = (): number[] => {
      const now = Date.now();
      return [Math.max(1, this.#addresses.freeLeft(address, now)), Math.max(1, this.#pairs.freeLeft(pair, now))];
    };
    for (;;) {
      const limits = capacity();
      const full = keys.findIndex((key, i) => (this.#slots.get(key)?.running ?? 0) >= limits[i]);
      if (full < 0) break;
      await new Promise<void>((resolve) => this.#slot(keys[full]).waiting.push(resolve));
    }
    for (const key of keys) this.#slot(key).running += 1;
    try {
      return await attempt();
    } finally {
      for (const key of keys) {
        const slot = this.#slot(key);
        slot.running -= 1;
        const waiting = slot.waiting.splice(0);
        if (slot.running === 0 && slot.waiting.length === 0) this.#slots.delete(key);
        for (const wake of waiting) wake();
      }
    }
  }

  #slot(key: string): { running: number; waiting: (() => void)[] } {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { running: 0, waiting: [] };
      this.#slots.set(key, slot);
    }
    return slot;
  }

  /** How many addresses and pairs are remembered (bounded by `maxKeys` each), and keys with attempts running or waiting. */
  get size(): { addresses: number; pairs: number; queues: number } {
    return { addresses: this.#addresses.size, pairs: this.#pairs.size, queues: this.#slots.size };
  }
}

/**
 * A name that is no valid user name can never log in: all such names share one key, so that long forged names
 * cost no memory and cannot be varied to dodge the per-user count.
 */
function pairKey(address: string, user: string): string {
  return `${address}\n${USER_NAME.test(user) ? user : "\n(invalid name)"}`;
}

function checked(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`options.${name} must be a non-negative integer`);
  return value;
}
