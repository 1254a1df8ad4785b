import { guardPipeline, guardRedis, type RedisLink } from "../shared/redis.js";
import type { TokenRecord, TokenStore } from "./tokens.js";

const tokenKey = (hash: string): string => `wharf:token:${hash}`;
const tokensOfKey = (user: string): string => `wharf:user-tokens:${user}`;

// Drops every token of a user: KEYS[1] their token set.
const REMOVE_USER = `
local hashes = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, hash in ipairs(hashes) do redis.call('DEL', 'wharf:token:' .. hash) end
redis.call('DEL', KEYS[1])
return #hashes`;

/**
 * Login tokens in Redis (`wharf serve --redis`): a hash per token (keyed by the token's sha256, never the token)
 * that Redis expires itself at the token's expiry, and a sorted set of each user's token hashes. Every node reads
 * Redis on each token login, so a revocation (`auth.revoke`, `wharf user revoke --redis`) holds on every node
 * at once. Every method fails with `E_UNAVAILABLE` while Redis is unreachable.
 *
 * @example
 * ```ts
 * const tokens = new RedisTokenStore(openRedis(url, logger));
 * registerAuth(server, accounts, { tokens });
 * ```
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: RedisLink;

  constructor(redis: RedisLink) {
    this.#redis = redis;
  }

  async add(record: TokenRecord): Promise<void> {
    await guardPipeline(
      this.#redis.client
        .multi()
        .hset(tokenKey(record.hash), "user", record.user, "created", String(record.created), "expires", String(record.expires))
        .pexpireat(tokenKey(record.hash), record.expires)
        .zadd(tokensOfKey(record.user), record.created, record.hash),
    );
  }

  async find(hash: string, now = Date.now()): Promise<TokenRecord | undefined> {
    const record = toRecord(hash, await guardRedis(this.#redis.client.hgetall(tokenKey(hash))));
    return record !== undefined && record.expires > now ? record : undefined;
  }

  async remove(hash: string): Promise<boolean> {
    const user = await guardRedis(this.#redis.client.hget(tokenKey(hash), "user"));
    const deleted = await guardRedis(this.#redis.client.del(tokenKey(hash)));
    if (user !== null) await guardRedis(this.#redis.client.zrem(tokensOfKey(user), hash));
    return deleted === 1;
  }

  async listUser(user: string, now = Date.now()): Promise<TokenRecord[]> {
    const hashes = await guardRedis(this.#redis.client.zrange(tokensOfKey(user), 0, -1));
    if (hashes.length === 0) return [];
    const pipeline = this.#redis.client.pipeline();
    for (const hash of hashes) pipeline.hgetall(tokenKey(hash));
    const replies = await guardPipeline(pipeline);
    const live: TokenRecord[] = [];
    const gone: string[] = [];
    replies.forEach((fields, i) => {
      const record = toRecord(hashes[i], fields as Record<string, string>);
      if (record !== undefined && record.expires > now) live.push(record);
      else if (record === undefined) gone.push(hashes[i]); // expired by Redis: tidy the user's set
    });
    if (gone.length > 0) await guardRedis(this.#redis.client.zrem(tokensOfKey(user), ...gone));
    return live.sort((a, b) => a.created - b.created);
  }

  async removeUser(user: string): Promise<number> {
    return Number(await guardRedis(this.#redis.client.eval(REMOVE_USER, 1, tokensOfKey(user))));
  }
}

function toRecord(hash: string, fields: Record<string, string>): TokenRecord | undefined {
  if (typeof fields.user !== "string") return undefined;
  return { hash, user: fields.user, created: Number(fields.created), expires: Number(fields.expires) };
}
