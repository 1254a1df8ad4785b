import { guardPipeline, guardRedis, type RedisLink } from "../shared/redis.js";
import { USER_NAME } from "./store.js";
import { LoginThrottle, type LoginGate, type LoginThrottleOptions } from "./throttle.js";

// Records one failure on each key: KEYS address key, pair key; ARGV now, address allowance, pair allowance,
// base delay, max delay, forget after. The same arithmetic as LoginThrottle's tiers, on Redis hashes that expire
// after `forgetAfter` without a failure.
const FAIL = `
local now = tonumber(ARGV[1])
local base, max, forget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[1 + i])
  local last = tonumber(redis.call('HGET', key, 'last') or '0')
  local failures = 0
  if now - last <= forget then failures = tonumber(redis.call('HGET', key, 'failures') or '0') end
  failures = failures + 1
  local blocked = 0
  local over = failures - free
  if over >= 0 then blocked = now + math.min(max, base * 2 ^ math.min(over, 30)) end
  redis.call('HSET', key, 'failures', failures, 'last', now, 'blocked', blocked)
  redis.call('PEXPIRE', key, math.max(forget, max))
end
return 1`;

/**
 * The login throttle of a cluster (`wharf serve --redis`): the same rules as {@link LoginThrottle} (failures
 * per peer address and per address and user name, doubling waits past an allowance, forgotten after quiet
 * minutes), with the counts in Redis, so that guesses spread over several nodes add up: three wrong passwords
 * for one name from one address, on whichever nodes, make the next attempt wait. Attempts in flight are still
 * bounded per node (a {@link LoginThrottle} of this process gates them). While Redis is unreachable every
 * method that reads or writes the counts fails with `E_UNAVAILABLE`, so no login goes unthrottled.
 *
 * @example
 * ```ts
 * registerAuth(server, accounts, { tokens, loginThrottle: new RedisLoginThrottle(redis) });
 * ```
 */
export class RedisLoginThrottle implements LoginGate {
  readonly #redis: RedisLink;
  readonly #local: LoginThrottle;
  readonly #settings: string[];

  constructor(redis: RedisLink, options: LoginThrottleOptions = {}) {
    this.#redis = redis;
    this.#local = new LoginThrottle(options); // checks the options, and gates attempts in flight on this node
    this.#settings = [
      String(options.addressFreeFailures ?? 10),
      String(options.userFreeFailures ?? 3),
      String(options.baseDelay ?? 1_000),
      String(options.maxDelay ?? 60_000),
      String(options.forgetAfter ?? 15 * 60_000),
    ];
  }

  attempt<T>(address: string, user: string, attempt: () => Promise<T>): Promise<T> {
    return this.#local.attempt(address, user, attempt);
  }

  /** Milliseconds `address` must wait before it may try `user` (0: now), as the whole cluster counted. */
  async waitFor(address: string, user: string, now = Date.now()): Promise<number> {
    const replies = await guardPipeline(this.#redis.client.pipeline().hget(addressKey(address), "blocked").hget(pairKey(address, user), "blocked"));
    const blocked = Math.max(...replies.map((value) => Number(value ?? 0)));
    return Math.max(0, blocked - now);
  }

  async failed(address: string, user: string, now = Date.now()): Promise<void> {
    this.#local.failed(address, user, now);
    await guardRedis(this.#redis.client.eval(FAIL, 2, addressKey(address), pairKey(address, user), String(now), ...this.#settings));
  }

  async succeeded(address: string, user: string): Promise<void> {
    this.#local.succeeded(address, user);
    await guardRedis(this.#redis.client.del(pairKey(address, user)));
  }
}

const addressKey = (address: string): string => `wharf:throttle:address:${address}`;

/** As LoginThrottle's: every invalid name shares one key, so forged names cost nothing and dodge nothing. */
const pairKey = (address: string, user: string): string => `wharf:throttle:pair:${address}\n${USER_NAME.test(user) ? user : "\n(invalid name)"}`;
