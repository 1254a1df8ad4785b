import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { ErrorCode, WharfError } from "../../errors/index.js";

/** Options of {@link openRedis}. */
export interface RedisLinkOptions {
  /** Longest wait for one command's reply, ms, before it fails (and the request gets `E_UNAVAILABLE`). Default 1,000. */
  commandTimeout?: number;
  /** Longest wait between two reconnection attempts, ms (the backoff doubles from 50 ms up to this). Default 2,000. */
  maxReconnectDelay?: number;
  /** Longest wait for a TCP connection to Redis, ms. Default 2,000. */
  connectTimeout?: number;
}

/**
 * One node's link to the Redis that holds its shared state (`wharf serve --redis URL`): a command client that
 * fails fast while Redis is unreachable, subscribers for pub/sub, and whether Redis is reachable now.
 */
export interface RedisLink {
  /**
   * The client for commands. It queues nothing while disconnected (`enableOfflineQueue: false`) and gives each
   * command `commandTimeout` ms, so that while Redis is down a command fails at once instead of piling up: map
   * its failure with {@link redisUnavailable} (or run it through {@link guardRedis}).
   */
  readonly client: Redis;
  /**
   * A new connection for pub/sub (a `duplicate()` of the client, which queues its subscriptions until connected
   * and subscribes again after each reconnection). It is closed by {@link close}.
   */
  subscriber(): Redis;
  /** True while the command client is connected and ready. */
  readonly ready: boolean;
  /** Calls `fn(ready)` on each change of {@link ready}; returns a function that removes it. */
  onReadyChange(fn: (ready: boolean) => void): () => void;
  /** Closes the client and every subscriber (QUIT, then disconnect). Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a link to Redis at `url` (`redis://HOST:PORT[/DB]`, `rediss://` for TLS). It connects in the background
 * and reconnects by itself forever, with a backoff from 50 ms doubling to `maxReconnectDelay`; each loss and
 * each return is logged once (not every failed attempt). Throws a TypeError for a URL that is not redis:// or
 * rediss://.
 *
 * @example
 * ```ts
 * const redis = openRedis("redis://127.0.0.1:6379", logger);
 * try {
 *   await redis.client.set("k", "v");
 * } catch (err) {
 *   throw redisUnavailable(err); // E_UNAVAILABLE
 * }
 * await redis.close();
 * ```
 */
export function openRedis(url: string, logger: Logger, options: RedisLinkOptions = {}): RedisLink {
  const parsed = parseRedisUrl(url);
  const maxDelay = positive("maxReconnectDelay", options.maxReconnectDelay, 2_000);
  const settings: RedisOptions = {
    enableOfflineQueue: false,
    commandTimeout: positive("commandTimeout", options.commandTimeout, 1_000),
    connectTimeout: positive("connectTimeout", options.connectTimeout, 2_000),
    // A command in flight when the connection drops fails at once rather than being sent again later.
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(maxDelay, 50 * 2 ** Math.min(times, 16)),
    lazyConnect: false,
  };
  const client = new Redis({ ...parsed, ...settings });
  const subscribers = new Set<Redis>();
  const listeners = new Set<(ready: boolean) => void>();
  const where = safeUrl(parsed);
  let ready = false;
  let closed = false;
  let everReady = false;
  let lastError = "";
  const setReady = (value: boolean): void => {
    if (value === ready) return;
    ready = value;
    if (value) logger.info({ redis: where }, everReady ? "redis is back" : "redis connected");
    else if (!closed) logger.warn({ redis: where, err: lastError || undefined }, "redis unreachable; requests that need it fail with E_UNAVAILABLE until it is back");
    everReady ||= value;
    for (const fn of [...listeners]) {
      try {
        fn(value);
      } catch (err) {
        logger.error({ err }, "a redis ready listener threw");
      }
    }
  };
  client.on("ready", () => setReady(true));
  client.on("close", () => setReady(false));
  client.on("end", () => setReady(false));
  // Without a listener an "error" event would end the process; the loss itself is logged by setReady.
  client.on("error", (err: Error) => {
    lastError = err.message;
    logger.debug({ err: err.message, redis: where }, "redis connection error");
  });
  return {
    client,
    subscriber() {
      if (closed) throw new TypeError("this redis link is closed");
      const sub = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
      sub.on("error", (err: Error) => logger.debug({ err: err.message, redis: where }, "redis subscriber error"));
      sub.once("end", () => subscribers.delete(sub));
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
      if (closed) return;
      closed = true;
      await Promise.all([client, ...subscribers].map((connection) => quitOrDisconnect(connection)));
      listeners.clear();
    },
  };
}

/** QUIT when connected (replies flushed), else just drop the socket and stop reconnecting. */
async function quitOrDisconnect(connection: Redis): Promise<void> {
  if (connection.status === "ready") {
    try {
      await connection.quit();
      return;
    } catch {
      // fall through: the connection went away meanwhile
    }
  }
  connection.disconnect(false);
}

/**
 * The error a request gets when a Redis command it needs failed: `E_UNAVAILABLE` ("a shared store the request
 * needs (Redis) is unreachable; retry later"), with the original error as `cause` (logged, never sent).
 *
 * @example
 * ```ts
 * const record = await redis.client.hgetall(key).catch((err) => { throw redisUnavailable(err); });
 * ```
 */
export function redisUnavailable(err: unknown): WharfError {
  if (err instanceof WharfError && err.code === ErrorCode.UNAVAILABLE) return err;
  return new WharfError(ErrorCode.UNAVAILABLE, "the shared store (redis) is unreachable: retry later", { cause: err });
}

// Replies that mean "Redis is there but cannot serve now", as much a reason to retry later as a dropped socket.
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/;

/**
 * True when `err` says Redis could not be reached or did not answer in time (no connection, a timeout, a
 * dropped connection, a server still loading its data), as opposed to a command Redis refused (a bug).
 */
export function isRedisDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "ReplyError") return TRANSIENT_REPLY.test(err.message);
  // Everything else ioredis raises is about the connection: "Stream isn't writeable", "Command timed out",
  // "Connection is closed", MaxRetriesPerRequestError, ECONNREFUSED.
  return true;
}

/**
 * Awaits a Redis command and turns a connection failure into `E_UNAVAILABLE` ({@link redisUnavailable});
 * other failures (a refused command: a bug) are rethrown as they are.
 *
 * @example
 * ```ts
 * const hash = await guardRedis(redis.client.hget(`wharf:user:${name}`, "hash"));
 * ```
 */
export async function guardRedis<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (err) {
    throw isRedisDown(err) ? redisUnavailable(err) : err;
  }
}

/**
 * Runs a pipeline (or MULTI) and resolves each command's reply, in order; the first command that failed fails
 * the whole, as {@link guardRedis} would (ioredis resolves a pipeline's per-command failures instead of
 * rejecting, which would let a dropped connection pass for empty replies).
 *
 * @example
 * ```ts
 * const [a, b] = await guardPipeline(redis.client.pipeline().get("a").get("b"));
 * ```
 */
export async function guardPipeline(pipeline: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const replies = await guardRedis(pipeline.exec());
  if (replies === null) throw redisUnavailable(new Error("the transaction was aborted"));
  for (const [err] of replies) if (err !== null) throw isRedisDown(err) ? redisUnavailable(err) : err;
  return replies.map(([, value]) => value);
}

/** Checks and splits a redis:// or rediss:// URL; throws a TypeError naming it otherwise. */
export function parseRedisUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`invalid redis URL ${JSON.stringify(url)}: use redis://HOST:PORT`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(`invalid redis URL ${JSON.stringify(url)}: the scheme must be redis:// or rediss://`);
  }
  if (parsed.hostname === "") throw new TypeError(`invalid redis URL ${JSON.stringify(url)}: no host`);
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db)) throw new TypeError(`invalid redis URL ${JSON.stringify(url)}: the path must be a database number`);
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port === "" ? 6379 : Number(parsed.port),
    db: db === "" ? 0 : Number(db),
  };
  if (parsed.username !== "") options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== "") options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === "rediss:") options.tls = {};
  return options;
}

/** The URL without its password, for logs. */
function safeUrl(options: RedisOptions): string {
  return `${options.tls === undefined ? "redis" : "rediss"}://${options.host}:${options.port}/${options.db ?? 0}`;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`options.${name} must be a positive integer of milliseconds`);
  return value;
}
