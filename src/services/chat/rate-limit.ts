/** Options of a {@link RateLimiter}. */
export interface RateLimitOptions {
  /** Tokens added per second (sustained messages per second). Default 20. */
  rate?: number;
  /** Bucket size (messages allowed in a burst). Default 40. */
  burst?: number;
  /** Most keys remembered; the least recently used are forgotten (a forgotten key starts with a full bucket). Default 100,000. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key (a user, a datagram sender): `take` spends one token and answers 0, or answers how many
 * ms to wait until a token is there.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ rate: 20, burst: 40 });
 * const wait = limiter.take("alice"); // 0: go ahead
 * ```
 */
export class RateLimiter {
  readonly rate: number;
  readonly burst: number;
  #maxKeys: number;
  #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions = {}) {
    this.rate = options.rate ?? 20;
    this.burst = options.burst ?? 40;
    this.#maxKeys = options.maxKeys ?? 100_000;
    if (!(this.rate > 0) || !Number.isFinite(this.rate)) throw new RangeError("options.rate must be a positive number");
    if (!(this.burst >= 1) || !Number.isFinite(this.burst)) throw new RangeError("options.burst must be at least 1");
  }

  /** Spends a token of `key`: 0 when one was there, else the ms until one will be (nothing is spent then). */
  take(key: string, now = performance.now()): number {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, at: now };
      this.#buckets.set(key, bucket);
      if (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.rate) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / this.rate);
  }
}
