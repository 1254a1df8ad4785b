import { join } from "node:path";
import { z } from "zod";
import { guardPipeline, guardRedis, isRedisDown, redisUnavailable, type RedisLink } from "../shared/redis.js";
import { JsonListFile } from "../shared/json-list-file.js";
import { hashPassword, verifyPassword } from "./password.js";
import { AccountStore, assertUserName, type Account, type AddUserOptions } from "./store.js";

/** Where the accounts live in Redis: one hash per user and the set of every name. */
const USERS = "wharf:users";
const userKey = (name: string): string => `wharf:user:${name}`;
const tokensOfKey = (name: string): string => `wharf:user-tokens:${name}`;
const IMPORTED = "wharf:users:imported";

// Adds a user unless the name is taken: KEYS[1] user hash, KEYS[2] name set; ARGV name, hash, quota, canExec, created.
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'hash', ARGV[2], 'quota', ARGV[3], 'canExec', ARGV[4], 'created', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`;

// Sets fields of an existing user: KEYS[1] user hash; ARGV field, value, field, value, ...
const SET_FIELDS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`;

// Removes a user and every login token of theirs: KEYS[1] user hash, KEYS[2] name set, KEYS[3] their token set.
const REMOVE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, hash in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do redis.call('DEL', 'wharf:token:' .. hash) end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SREM', KEYS[2], ARGV[1])
return 1`;

// The one-time import of a users.json: KEYS[1] marker, KEYS[2] name set; ARGV marker value, then 5 fields per user.
// Atomic, so that nodes starting together import once, and a user removed later is never brought back.
const IMPORT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local added = 0
for i = 2, #ARGV, 5 do
  local key = 'wharf:user:' .. ARGV[i]
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'name', ARGV[i], 'hash', ARGV[i + 1], 'quota', ARGV[i + 2], 'canExec', ARGV[i + 3], 'created', ARGV[i + 4])
    redis.call('SADD', KEYS[2], ARGV[i])
    added = added + 1
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return added`;

const fileRecord = z.object({ name: z.string(), hash: z.string(), quota: z.number().int().nonnegative().nullable(), canExec: z.boolean(), created: z.string() });

/**
 * The accounts of a cluster, kept in Redis (`wharf serve --redis`, `wharf user ... --redis`): every node sees a
 * change at once. It is an {@link AccountStore} (same methods, same errors), so every service takes it
 * unchanged; the data folder given is only where {@link importUsersFile} finds `users.json`.
 *
 * While Redis is unreachable, `verify` (logins) and every change fail with `E_UNAVAILABLE`; `get` answers from
 * the copy this node saw last, so that a logged-in user keeps reading files (a change made meanwhile cannot be
 * seen anyway), and fails with `E_UNAVAILABLE` only for a user this node has never read.
 *
 * @example
 * ```ts
 * const accounts = new RedisAccountStore(openRedis("redis://127.0.0.1:6379", logger), "./wharf-data");
 * await accounts.importUsersFile(); // once: the users of ./wharf-data/users.json that Redis lacks
 * await accounts.verify("alice", "s3cret");
 * ```
 */
export class RedisAccountStore extends AccountStore {
  readonly #redis: RedisLink;
  readonly #usersFile: string;
  /** The last copy of each account this node read: what `get` answers while Redis is down. */
  readonly #lastSeen = new Map<string, Account>();

  constructor(redis: RedisLink, dataDir: string) {
    super(dataDir);
    this.#redis = redis;
    this.#usersFile = join(dataDir, "users.json");
  }

  override async list(): Promise<Account[]> {
    const names = (await guardRedis(this.#redis.client.smembers(USERS))).sort();
    const pipeline = this.#redis.client.pipeline();
    for (const name of names) pipeline.hgetall(userKey(name));
    const replies = await guardPipeline(pipeline);
    return replies.map((fields) => toAccount(fields as Record<string, string>)).filter((account): account is Account => account !== null);
  }

  override async get(name: string): Promise<Account | undefined> {
    try {
      const account = toAccount(await this.#redis.client.hgetall(userKey(name)));
      if (account === null) this.#lastSeen.delete(name);
      else this.#lastSeen.set(name, account);
      return account ?? undefined;
    } catch (err) {
      const seen = this.#lastSeen.get(name);
      if (isRedisDown(err) && seen !== undefined) return { ...seen };
      throw isRedisDown(err) ? redisUnavailable(err) : err;
    }
  }

  override async add(name: string, password: string, options: AddUserOptions = {}): Promise<Account> {
    assertUserName(name);
    assertPasswordText(password);
    const hash = await hashPassword(password);
    const account: Account = { name, quota: options.quota ?? null, canExec: options.canExec ?? false, created: new Date().toISOString() };
    const added = await guardRedis(this.#redis.client.eval(ADD, 2, userKey(name), USERS, name, hash, quotaField(account.quota), account.canExec ? "1" : "0", account.created));
    if (added !== 1) throw new TypeError(`user ${name} already exists`);
    return account;
  }

  override async setPassword(name: string, password: string): Promise<void> {
    assertPasswordText(password);
    await this.#set(name, ["hash", await hashPassword(password)]);
  }

  override async setOptions(name: string, options: AddUserOptions): Promise<Account> {
    if (options.quota !== undefined && options.quota !== null && !(Number.isSafeInteger(options.quota) && options.quota >= 0)) {
      throw new TypeError("options.quota must be a non-negative integer of bytes, or null");
    }
    const fields: string[] = [];
    if (options.quota !== undefined) fields.push("quota", quotaField(options.quota));
    if (options.canExec !== undefined) fields.push("canExec", options.canExec ? "1" : "0");
    if (fields.length > 0) await this.#set(name, fields);
    const account = await this.get(name);
    if (account === undefined) throw new TypeError(`no such user: ${name}`);
    return account;
  }

  /** Removes a user and revokes every login token of theirs (their files stay in the data folder). */
  override async remove(name: string): Promise<void> {
    const removed = await guardRedis(this.#redis.client.eval(REMOVE, 3, userKey(name), USERS, tokensOfKey(name), name));
    if (removed !== 1) throw new TypeError(`no such user: ${name}`);
    this.#lastSeen.delete(name);
  }

  override async verify(name: string, password: string): Promise<Account | null> {
    const fields = await guardRedis(this.#redis.client.hgetall(userKey(name)));
    const account = toAccount(fields);
    const ok = await verifyPassword(password, account === null ? DUMMY_HASH : fields.hash);
    if (account !== null) this.#lastSeen.set(name, account);
    return account !== null && ok ? account : null;
  }

  /**
   * Copies the users of the data folder's `users.json` that Redis lacks into Redis, once per file: a marker
   * remembers that it was done (in one atomic script with the copy), so that nodes starting together import
   * once, and a user removed from Redis later is not brought back by a restart. Resolves how many were added,
   * or -1 when this file was imported before. A missing users.json imports nothing (and is not marked).
   */
  async importUsersFile(): Promise<number> {
    const records = await new JsonListFile(this.#usersFile, "users", fileRecord, "user list").read();
    if (records.length === 0) return 0;
    const args = [this.#usersFile + " " + new Date().toISOString()];
    for (const record of records) {
      if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(record.name)) continue;
      args.push(record.name, record.hash, quotaField(record.quota), record.canExec ? "1" : "0", record.created);
    }
    const added = await guardRedis(this.#redis.client.eval(IMPORT, 2, `${IMPORTED}:${this.#usersFile}`, USERS, ...args));
    return Number(added);
  }

  async #set(name: string, fields: string[]): Promise<void> {
    const done = await guardRedis(this.#redis.client.eval(SET_FIELDS, 1, userKey(name), ...fields));
    if (done !== 1) throw new TypeError(`no such user: ${name}`);
  }
}

// The same dummy as the file store's: verifying an unknown user costs a full scrypt too.
const DUMMY_HASH = "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

function assertPasswordText(password: string): void {
  if (typeof password !== "string" || password.length === 0) throw new TypeError("the password must not be empty");
  if (password.length > 1024) throw new TypeError("the password must be at most 1024 characters");
}

function quotaField(quota: number | null): string {
  return quota === null ? "" : String(quota);
}

function toAccount(fields: Record<string, string>): Account | null {
  if (typeof fields.name !== "string" || typeof fields.hash !== "string") return null;
  return {
    name: fields.name,
    quota: fields.quota === undefined || fields.quota === "" ? null : Number(fields.quota),
    canExec: fields.canExec === "1",
    created: fields.created ?? "",
  };
}
