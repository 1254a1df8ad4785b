/**
 * What chat needs of the node's Redis link (`wharf serve --redis`, src/services/shared/redis.ts): a command
 * client that fails fast while Redis is down, pub/sub connections, and whether Redis is reachable.
 */
import { guardRedis, redisUnavailable, type RedisLink } from "../shared/redis.js";

/** The part of a RedisLink that chat uses. */
export type ChatRedisLink = Pick<RedisLink, "client" | "subscriber" | "ready" | "onReadyChange">;

/** `E_UNAVAILABLE`: Redis, which shared chat needs, is unreachable. */
export const storeDown = redisUnavailable;

/** Awaits a Redis command; a failure to reach Redis becomes `E_UNAVAILABLE` (a refused command stays itself). */
export const guard = guardRedis;
