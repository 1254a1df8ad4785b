import { randomBytes } from "node:crypto";
import { relative } from "node:path";
import { WharfError } from "../../errors/index.js";
import { guardRedis, type RedisLink } from "../shared/redis.js";
import { FileErrorCode } from "./errors.js";
import type { NameLock, NameLocks } from "./lock-file.js";

/** Options of {@link RedisNameLocks}. */
export interface RedisLeaseOptions {
  /** How long a lease lives without a renewal, ms: what a node killed mid-upload keeps the name for. Default 15,000. */
  ttl?: number;
}

const FENCE = "wharf:lease:fence";

// Takes a lease: KEYS[1] lease, KEYS[2] fence counter; ARGV holder id, ttl. Resolves the new fencing token, or 0
// when someone holds it. The token only grows, so a later holder always has a greater one.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ' ' .. ARGV[1], 'PX', ARGV[2])
return fence`;

// Renews a lease still held with this value: KEYS[1] lease; ARGV value, ttl. 1 renewed, 0 lost.
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Gives a lease back if it is still this holder's: KEYS[1] lease; ARGV value.
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * Upload name locks as Redis leases (`wharf serve --redis`, with `--data` on storage every node mounts): a key
 * per partial (its path inside the data folder), set only if absent, with a time to live, holding a fencing
 * token that only grows. The holder renews it every third of its TTL while the upload lives, so a node killed
 * mid-upload lets go of the name after at most one TTL, and a resume may then land on any node. A holder that
 * cannot renew (Redis unreachable) for a whole TTL, or finds its token replaced, marks the lease `lost` and its
 * upload stops writing; `confirm()` checks the token against Redis before the first byte and before the commit,
 * so two nodes never write one partial. Taking a lease while Redis is unreachable fails with `E_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const locks = new RedisNameLocks(redis, dataDir);
 * registerFiles(server, { dataDir, accounts, nameLocks: locks });
 * ```
 */
export class RedisNameLocks implements NameLocks {
  readonly #redis: RedisLink;
  readonly #dataDir: string;
  readonly #ttl: number;
  /** Names this node's holders, so that a lease's value says which node holds it. */
  readonly #node = `${process.pid}@${randomBytes(6).toString("hex")}`;

  constructor(redis: RedisLink, dataDir: string, options: RedisLeaseOptions = {}) {
    const ttl = options.ttl ?? 15_000;
    if (!Number.isSafeInteger(ttl) || ttl < 300) throw new RangeError("options.ttl must be an integer of at least 300 ms");
    this.#redis = redis;
    this.#dataDir = dataDir;
    this.#ttl = ttl;
  }

  async acquire(path: string): Promise<RedisLease | null> {
    const key = this.#key(path);
    const fence = Number(await guardRedis(this.#redis.client.eval(ACQUIRE, 2, key, FENCE, this.#node, String(this.#ttl))));
    return fence === 0 ? null : new RedisLease(this.#redis, key, `${fence} ${this.#node}`, fence, this.#ttl);
  }

  async isFree(path: string): Promise<boolean> {
    try {
      return (await this.#redis.client.exists(this.#key(path))) === 0;
    } catch {
      return false; // cannot tell: the caller (the partials' sweep) leaves the partial alone
    }
  }

  #key(path: string): string {
    return `wharf:lease:${relative(this.#dataDir, path)}`;
  }
}

/** One held lease, renewed in the background until released or lost. */
export class RedisLease implements NameLock {
  /** The fencing token: greater than that of every earlier holder of this name. */
  readonly fence: number;
  readonly #redis: RedisLink;
  readonly #key: string;
  readonly #value: string;
  readonly #ttl: number;
  readonly #timer: NodeJS.Timeout;
  /** Until when the lease is surely ours: the last successful renewal's start plus the TTL. */
  #validUntil: number;
  #lost = false;
  #released = false;

  constructor(redis: RedisLink, key: string, value: string, fence: number, ttl: number) {
    this.#redis = redis;
    this.#key = key;
    this.#value = value;
    this.fence = fence;
    this.#ttl = ttl;
    this.#validUntil = Date.now() + ttl;
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(ttl / 3)));
    this.#timer.unref();
  }

  get lost(): boolean {
    if (!this.#lost && Date.now() >= this.#validUntil) this.#lost = true;
    return this.#lost;
  }

  async confirm(): Promise<void> {
    if (this.lost) throw lostError();
    const started = Date.now();
    const renewed = await guardRedis(this.#redis.client.eval(RENEW, 1, this.#key, this.#value, String(this.#ttl)));
    if (renewed !== 1) {
      this.#lost = true;
      throw lostError();
    }
    this.#validUntil = started + this.#ttl;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    try {
      await this.#redis.client.eval(RELEASE, 1, this.#key, this.#value);
    } catch {
      // Redis unreachable: the lease expires by itself within its TTL.
    }
  }

  async #renew(): Promise<void> {
    if (this.#released || this.lost) {
      clearInterval(this.#timer);
      return;
    }
    try {
      await this.confirm();
    } catch {
      // Lost (then `lost` says so), or Redis unreachable: tried again at the next tick, until the TTL runs out.
    }
  }
}

function lostError(): WharfError {
  return new WharfError(FileErrorCode.BUSY, "this upload lost its lease on the name (another node may hold it now): put again", {
    data: { leaseLost: true },
  });
}

