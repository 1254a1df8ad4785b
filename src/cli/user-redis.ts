import { pino } from "pino";
import { ErrorCode } from "../errors/index.js";
import { RedisAccountStore } from "../services/accounts/redis-store.js";
import { RedisTokenStore } from "../services/accounts/redis-tokens.js";
import type { AccountStore, TokenStore } from "../services/accounts/index.js";
import { openRedis } from "../services/shared/redis.js";
import { CliError, usageError } from "./fail.js";

/** How long `wharf user ... --redis` waits for Redis before it gives up with `E_UNAVAILABLE`. */
const CONNECT_WAIT = 5_000;

/**
 * The accounts and tokens of a cluster, for `wharf user ... --redis URL`: connects (waiting up to 5 s), and
 * closes the link with `close()`. A bad URL is a usage error; an unreachable Redis is `E_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const stores = await openUserStores("redis://127.0.0.1:6379", dataDir);
 * try { await stores.accounts.list(); } finally { await stores.close(); }
 * ```
 */
export async function openUserStores(url: string, dataDir: string): Promise<{ accounts: AccountStore; tokens: TokenStore; close(): Promise<void> }> {
  let redis;
  try {
    redis = openRedis(url, pino({ level: "silent" }));
  } catch (err) {
    throw usageError(`--redis ${url}: ${(err as Error).message}`);
  }
  const link = redis;
  if (!link.ready) {
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), CONNECT_WAIT);
      const off = link.onReadyChange((value) => value && done(true));
      function done(value: boolean): void {
        clearTimeout(timer);
        off();
        resolve(value);
      }
    });
    if (!ready) {
      await link.close();
      throw new CliError(ErrorCode.UNAVAILABLE, `--redis ${url}: no answer within ${CONNECT_WAIT / 1000} s`);
    }
  }
  return { accounts: new RedisAccountStore(link, dataDir), tokens: new RedisTokenStore(link), close: () => link.close() };
}
