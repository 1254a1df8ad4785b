/**
 * What chat needs of the node's Redis link (`wharf serve --redis`, src/services/shared/redis.ts): a command
 * client that fails fast while Redis is down, pub/sub connections, and whether Redis is reachable.
 */
import { Redis as RedisClient, type Redis } from "ioredis";
import type { Logger } from "pino";
import { WharfError } from "../../wire/index.js";

/** The part of a RedisLink that chat uses. */
export interface ChatRedisLink {
  readonly client: Redis;
  subscriber(): Redis;
  readonly ready: boolean;
  onReadyChange(fn: (ready: boolean) => void): () => void;
}

/** `E_UNAVAILABLE`: Redis, which shared chat needs, is unreachable. */
export function storeDown(err: unknown): WharfError {
  if (err instanceof WharfError) return err;
  return new WharfError("E_UNAVAILABLE", "the shared store (redis) is unreachable: retry later", { cause: err });
}

/** Awaits a Redis command; any failure of Redis becomes `E_UNAVAILABLE`. */
export async function guard<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (err) {
    throw storeDown(err);
  }
}

/**
 * Opens a link to Redis for chat alone, with the settings of the shared link (src/services/shared/redis.ts):
 * commands fail fast while Redis is down (no offline queue, 1 s per command), and it reconnects forever with a
 * backoff capped at 2 s. `close()` ends it and its subscribers.
 */
export function openChatRedis(url: string, logger: Logger): ChatRedisLink & { close(): Promise<void> } {
  const client = new RedisClient(url, {
    enableOfflineQueue: false,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(2_000, 50 * 2 ** Math.min(times, 16)),
  });
  const subscribers = new Set<Redis>();
  const listeners = new Set<(ready: boolean) => void>();
  let ready = false;
  const setReady = (value: boolean): void => {
    if (value === ready) return;
    ready = value;
    if (value) logger.info({ redis: url }, "redis connected");
    else logger.warn({ redis: url }, "redis unreachable; chat requests fail with E_UNAVAILABLE until it is back");
    for (const fn of [...listeners]) fn(value);
  };
  client.on("ready", () => setReady(true));
  client.on("close", () => setReady(false));
  client.on("error", (err: Error) => logger.debug({ err: err.message }, "redis connection error"));
  return {
    client,
    subscriber() {
      const sub = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
      sub.on("error", (err: Error) => logger.debug({ err: err.message }, "redis subscriber error"));
      subscribers.add(sub);
      return sub;
    },
    get ready() {
      return ready;
    },
    onReadyChange(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    async close() {
      for (const connection of [client, ...subscribers]) connection.disconnect(false);
    },
  };
}
