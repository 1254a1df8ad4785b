import type { BrowserConnection } from "./connection.js";

/** One second of the server's traffic, as the `stats` event carries it (the stats service, issue 13). */
export interface StatsSnapshot {
  /** When it was taken, ms since the epoch. */
  at: number;
  connections: number;
  requestsPerSecond: number;
  byType: Record<string, { count: number; errors: number; perSecond: number }>;
  latencyMs: { p50: number; p90: number; p99: number };
  bytesIn: number;
  bytesOut: number;
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
  [field: string]: unknown;
}

/**
 * Subscribes the connection to the server's `stats` events (`stats.subscribe`, then one `stats` event a
 * second) and hands each snapshot to `onStats`. Resolves the unsubscribe, which stops the events
 * (`stats.unsubscribe`) and the listener; the events also stop when the connection closes.
 *
 * @example
 * ```ts
 * const stop = await subscribeStats(conn, (s) => chart.push(s.at, s.requestsPerSecond));
 * await stop();
 * ```
 */
export async function subscribeStats(conn: BrowserConnection, onStats: (snapshot: StatsSnapshot) => void): Promise<() => Promise<void>> {
  const off = conn.onEvent((header, body) => {
    if (header.event !== "stats") return;
    // The snapshot travels in the header's fields, or (a server that sends it so) as a JSON body.
    if (body.byteLength > 0 && header.at === undefined) {
      onStats(JSON.parse(new TextDecoder().decode(body)) as StatsSnapshot);
      return;
    }
    const { event: _event, size: _size, ...snapshot } = header;
    onStats(snapshot as StatsSnapshot);
  });
  try {
    await conn.request({ type: "stats.subscribe" });
  } catch (err) {
    off();
    throw err;
  }
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    off();
    if (!conn.closed) await conn.request({ type: "stats.unsubscribe" }).catch(() => {});
  };
}
