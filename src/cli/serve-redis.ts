import type { Logger } from "pino";
import { RedisAccountStore } from "../services/accounts/redis-store.js";
import { RedisLoginThrottle } from "../services/accounts/redis-throttle.js";
import { RedisTokenStore } from "../services/accounts/redis-tokens.js";
import { RedisNameLocks } from "../services/files/redis-lease.js";
import { ServiceSet, type ServiceDeps } from "../services/index.js";
import { openRedis, type RedisLink } from "../services/shared/redis.js";
import { usageError } from "./fail.js";

/** The parts of the services' deps that `--redis` replaces, with the link they share. */
export interface SharedState {
  redis: RedisLink;
  deps: Pick<ServiceDeps, "accounts" | "tokens" | "loginThrottle" | "nameLocks">;
}

/**
 * `wharf serve --redis URL`: accounts, login tokens, login throttles and upload leases in Redis, shared by every
 * node that names the same Redis (docs/scale.md). Once Redis is first reachable, the users of the data folder's
 * users.json that Redis lacks are imported (once per file; the log says how many). A bad URL is a usage error.
 *
 * @example
 * ```ts
 * const shared = sharedState("redis://127.0.0.1:6379", dataDir, logger);
 * const services = withRedisClosed(registerServices(server, { ...deps, ...shared.deps }), shared.redis);
 * ```
 */
export function sharedState(url: string, dataDir: string, logger: Logger): SharedState {
  let redis: RedisLink;
  try {
    redis = openRedis(url, logger.child({ component: "redis" }));
  } catch (err) {
    throw usageError(`--redis ${url}: ${(err as Error).message}`);
  }
  const accounts = new RedisAccountStore(redis, dataDir);
  importOnceReady(redis, accounts, logger);
  return {
    redis,
    deps: { accounts, tokens: new RedisTokenStore(redis), loginThrottle: new RedisLoginThrottle(redis), nameLocks: new RedisNameLocks(redis, dataDir) },
  };
}

/** Imports users.json into Redis the first time Redis is ready (again at the next readiness if that failed). */
function importOnceReady(redis: RedisLink, accounts: RedisAccountStore, logger: Logger): void {
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    accounts.importUsersFile().then(
      (added) => {
        stop();
        if (added < 0) logger.info("accounts: users.json was imported into redis before; nothing to import");
        else logger.info({ imported: added }, `accounts: imported ${added} user${added === 1 ? "" : "s"} of users.json that redis lacked`);
      },
      (err: unknown) => {
        done = false;
        logger.warn({ err }, "accounts: importing users.json into redis failed; trying again when redis is back");
      },
    );
  };
  const stop = redis.onReadyChange((ready) => {
    if (ready) run();
  });
  if (redis.ready) run();
}

/**
 * The services, closed first, then the Redis link they share (their leases are released through it): a set of
 * the same services plus one named "redis" whose close awaits the others.
 */
export function withRedisClosed(services: ServiceSet, redis: RedisLink): ServiceSet {
  const members = [...services];
  const closeRedis = async (): Promise<void> => {
    await Promise.allSettled(members.map((service) => service.close()));
    await redis.close();
  };
  let closing: Promise<void> | null = null;
  return new ServiceSet([...members, { name: "redis", types: [], close: () => (closing ??= closeRedis()) }]);
}
