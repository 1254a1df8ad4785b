import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ConnectionChannel, Server } from "../../server/index.js";
import { ErrorCode, WharfError, encodeEvent } from "../../wire/index.js";
import { AccountErrorCode, currentUser } from "../accounts/index.js";
import { once, typesAdded, type Service } from "../service.js";
import { StatsWindow, type LatencyPercentiles, type TypeStats } from "./window.js";

/** The diagnostics channel a server publishes each finished request on (the gateway contract, issue 13). */
export const REQUEST_CHANNEL = "wharf:request";

/** What {@link REQUEST_CHANNEL} carries. */
export interface RequestMessage {
  type: string;
  transport: string;
  /** The error code the request was answered with; null when it succeeded. */
  code: string | null;
  durationMs: number;
}

/** One `stats` event: what the server did in the last interval (about a second), and totals since it started. */
export interface StatsSnapshot {
  /** When the snapshot was taken, ms since the epoch. */
  at: number;
  /** How long the interval was, ms (about 1,000). */
  intervalMs: number;
  /** Connections served now (every stream transport). */
  connections: number;
  /** Requests finished while someone watched (see {@link registerStats}), and of those the ones answered with an error. */
  requests: number;
  errors: number;
  /** Requests finished per second over the interval. */
  requestsPerSecond: number;
  /** Per request type; unregistered types are counted under "(other)". */
  byType: Record<string, TypeStats>;
  /** Percentiles of the durations of the interval's requests (a sample of at most 1,024); 0 when there were none. */
  latencyMs: LatencyPercentiles;
  /** How many durations the percentiles were computed from. */
  latencySamples: number;
  /** Bytes received and sent over every stream connection since the server started, and per second. */
  bytesIn: number;
  bytesOut: number;
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
}

/** Options of {@link registerStats}. */
export interface StatsOptions {
  /** Time between two events, ms; default 1,000. */
  intervalMs?: number;
  /**
   * A subscriber whose connection holds more than this many bytes not yet taken by its peer skips events until
   * it catches up (a stalled dashboard costs no memory). Default 1 MiB.
   */
  maxBufferedBytes?: number;
}

/** The running stats service. */
export interface StatsService extends Service {
  readonly name: "stats";
  /** Connections subscribed now. */
  readonly subscribers: number;
  /** Takes a snapshot now (ending the current interval), as the next event would carry it. */
  snapshot(): StatsSnapshot;
}

interface TrafficSource {
  trafficTotals?: () => { bytesIn: number; bytesOut: number };
}

/**
 * Adds the stats service to a server: `stats.subscribe` (logged in) → ok, then a `{ "event": "stats", ... }` frame
 * ({@link StatsSnapshot}) on that connection every second until `stats.unsubscribe` or the connection closes. The
 * web app's Dashboard draws its charts from it. It counts the requests the process finishes from the
 * `wharf:request` diagnostics channel, listened to only while at least one connection is subscribed (so a server
 * nobody watches pays nothing per request, and request totals cover the time watched), and bytes from
 * `server.trafficTotals()` (always since the server started); one snapshot per interval is encoded once and sent
 * to every subscriber. `close()` stops its timer and its channel subscription.
 *
 * @example
 * ```ts
 * const stats = registerStats(server);
 * // client: { type: "stats.subscribe", id: 3 } → { id: 3, ok: true, intervalMs: 1000 }, then { event: "stats", at, ... } each second
 * await server.close();
 * await stats.close();
 * ```
 */
export function registerStats(server: Server, options: StatsOptions = {}): StatsService {
  const intervalMs = options.intervalMs ?? 1_000;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 10) throw new RangeError("options.intervalMs must be an integer of at least 10");
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 0) throw new RangeError("options.maxBufferedBytes must be a non-negative integer");
  let known = new Set(server.requestTypes());
  const window = new StatsWindow((type) => {
    if (!known.has(type)) known = new Set(server.requestTypes()); // registered since; the set is small
    return known.has(type);
  });
  const onRequest = (message: unknown): void => {
    const { type, code, durationMs } = message as RequestMessage;
    if (typeof type === "string") window.record(type, typeof code === "string" ? code : null, durationMs);
  };

  const subscribers = new Map<number, ConnectionChannel>();
  let timer: NodeJS.Timeout | null = null;
  let last = { at: Date.now(), ...traffic(server) };
  const snapshot = (): StatsSnapshot => {
    const at = Date.now();
    const elapsed = Math.max(at - last.at, 1);
    const bytes = traffic(server);
    const cut = window.cut(elapsed);
    const perSecond = (now: number, before: number): number => Math.max(0, Math.round(((now - before) * 1000) / elapsed));
    const result: StatsSnapshot = {
      at,
      intervalMs: elapsed,
      connections: server.connectionCount,
      requests: cut.requests,
      errors: cut.errors,
      requestsPerSecond: cut.requestsPerSecond,
      byType: cut.byType,
      latencyMs: cut.latencyMs,
      latencySamples: cut.samples,
      bytesIn: bytes.bytesIn,
      bytesOut: bytes.bytesOut,
      bytesInPerSecond: perSecond(bytes.bytesIn, last.bytesIn),
      bytesOutPerSecond: perSecond(bytes.bytesOut, last.bytesOut),
    };
    last = { at, ...bytes };
    return result;
  };
  const tick = (): void => {
    const parts = encodeEvent("stats", { ...snapshot() });
    for (const [id, channel] of subscribers) {
      if (channel.closed) subscribers.delete(id);
      else if (channel.bufferedBytes <= maxBuffered) channel.sendFrame(parts);
    }
    if (subscribers.size === 0) stopWatching();
  };
  // The channel is listened to only while someone watches: a server nobody watches pays nothing per request.
  const startWatching = (): void => {
    if (timer !== null) return;
    subscribe(REQUEST_CHANNEL, onRequest);
    snapshot(); // the first event covers one interval from now, not the idle time before it
    timer = setInterval(tick, intervalMs);
    timer.unref();
  };
  const stopWatching = (): void => {
    if (timer === null) return;
    clearInterval(timer);
    timer = null;
    unsubscribe(REQUEST_CHANNEL, onRequest);
  };
  let closed = false;

  const types = typesAdded(server, () => {
    server.handle("stats.subscribe", (_header, _body, ctx) => {
      currentUser(ctx);
      const channel = ctx.channel;
      if (channel === null) throw new WharfError(AccountErrorCode.FORBIDDEN, "stats.subscribe needs a stream connection, not udp");
      if (closed) throw new WharfError(ErrorCode.SHUTTING_DOWN, "the stats service is closed");
      if (!subscribers.has(channel.id)) {
        subscribers.set(channel.id, channel);
        channel.onClose(() => subscribers.delete(channel.id));
      }
      startWatching();
      return { header: { intervalMs } };
    });
    server.handle("stats.unsubscribe", (_header, _body, ctx) => {
      currentUser(ctx);
      const subscribed = ctx.channel !== null && subscribers.delete(ctx.channel.id);
      if (subscribers.size === 0) stopWatching();
      return { header: { subscribed } };
    });
  });

  const close = once(async () => {
    closed = true;
    stopWatching();
    subscribers.clear();
  });
  return {
    name: "stats",
    types,
    get subscribers() {
      return subscribers.size;
    },
    snapshot,
    close,
  };
}

function traffic(server: Server): { bytesIn: number; bytesOut: number } {
  const totals = (server as TrafficSource).trafficTotals?.();
  return { bytesIn: totals?.bytesIn ?? 0, bytesOut: totals?.bytesOut ?? 0 };
}
