/**
 * The Prometheus metrics of one wharf process: requests counted by the server in place (Server.countRequests),
 * connections from the server's `wharf:connection` channel, the services' diagnostics channels (`wharf:chat`,
 * `wharf:files`, `wharf:exec`, `wharf:redis`; see src/services/shared/channels.ts), plus the server's byte
 * totals read at scrape time.
 *
 * @module
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Counter, Gauge, Registry, type Metric } from "prom-client";
import { RequestTallies } from "../server/request-tallies.js";

/** What metrics read from the server at scrape time (a {@link Server} after the gateway work has both). */
export interface MetricsSource {
  /** Bytes read and written by every stream connection so far. */
  trafficTotals?(): { bytesIn: number; bytesOut: number };
  /** Counts the server's requests into `tallies` until the returned function is called. */
  countRequests?(tallies: RequestTallies): () => void;
}

type ConnectionMessage = { event: "open" | "close"; id: number; transport: string };
type ServiceMessage = { event: string; bytes?: number; ok?: boolean; from?: string };

/** Request duration buckets, seconds: 0.5 ms (a ping on loopback) to 30 s (a large transfer). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every metric of one process in its own prom-client Registry; `close()` stops listening to the channels.
 * Names follow Prometheus conventions (`_total` counters, seconds, bytes).
 *
 * @example
 * ```ts
 * const metrics = new WharfMetrics(server);
 * const text = await metrics.registry.metrics(); // Prometheus text format
 * metrics.close();
 * ```
 */
export class WharfMetrics {
  readonly registry = new Registry();
  #subscriptions: [string, (message: unknown) => void][] = [];
  #stops: (() => void)[] = [];

  constructor(source: MetricsSource = {}) {
    const registers = [this.registry];
    const opened = new Counter({ name: "wharf_connections_opened_total", help: "Stream connections accepted (tcp, tls, unix, ws, wss)", labelNames: ["transport"], registers });
    const open = new Gauge({ name: "wharf_connections_open", help: "Stream connections being served now", labelNames: ["transport"], registers });
    // Every request updates these: plain tallies, turned into Prometheus values only when scraped.
    const tallies = new RequestTallies(DURATION_BUCKETS);
    this.registry.registerMetric(tallies.requestsMetric() as unknown as Metric);
    this.registry.registerMetric(tallies.durationMetric() as unknown as Metric);
    new Counter({
      name: "wharf_received_bytes_total",
      help: "Bytes read from stream connections",
      registers,
      collect() {
        const totals = source.trafficTotals?.();
        if (totals !== undefined) this.reset(), this.inc(totals.bytesIn);
      },
    });
    new Counter({
      name: "wharf_sent_bytes_total",
      help: "Bytes written to stream connections",
      registers,
      collect() {
        const totals = source.trafficTotals?.();
        if (totals !== undefined) this.reset(), this.inc(totals.bytesOut);
      },
    });
    const deliveries = new Counter({ name: "wharf_chat_deliveries_total", help: "Chat events queued to members", registers });
    const cuts = new Counter({ name: "wharf_chat_slow_consumer_cuts_total", help: "Chat members cut off for not reading", registers });
    const uploads = new Counter({ name: "wharf_upload_bytes_total", help: "File content bytes received by puts", registers });
    const baseLists = new Counter({
      name: "wharf_delta_base_lists_total",
      help: "Lists of a delta put's base (the version stored): read from the file, or from memory (made when it was stored)",
      labelNames: ["from"],
      registers,
    });
    const execRuns = new Counter({ name: "wharf_exec_runs_total", help: "Commands started by exec", registers });
    const redisCommands = new Counter({ name: "wharf_redis_commands_total", help: "Redis round trips (commands sent)", registers });
    const redisErrors = new Counter({ name: "wharf_redis_errors_total", help: "Redis commands that failed (unreachable, timeout, error reply)", registers });

    // A type the server does not serve is counted as "(other)" by the server, so clients cannot grow the labels.
    const stopCounting = source.countRequests?.(tallies);
    if (stopCounting !== undefined) this.#stops.push(stopCounting);
    this.#on("wharf:connection", (message) => {
      const { event, transport } = message as ConnectionMessage;
      if (event === "open") {
        opened.inc({ transport });
        open.inc({ transport });
      } else open.dec({ transport });
    });
    this.#on("wharf:chat", (message) => {
      const { event } = message as ServiceMessage;
      if (event === "delivered") deliveries.inc();
      else if (event === "slow-consumer") cuts.inc();
    });
    this.#on("wharf:files", (message) => {
      const { event, bytes } = message as ServiceMessage;
      if (event === "upload" && bytes !== undefined && bytes > 0) uploads.inc(bytes);
      else if (event === "base-list") baseLists.inc({ from: (message as ServiceMessage).from === "memory" ? "memory" : "file" });
    });
    this.#on("wharf:exec", (message) => {
      if ((message as ServiceMessage).event === "run") execRuns.inc();
    });
    this.#on("wharf:redis", (message) => {
      const { event, ok } = message as ServiceMessage;
      if (event !== "command") return;
      redisCommands.inc();
      if (ok === false) redisErrors.inc();
    });
  }

  /** Stops counting (unsubscribes from every channel, stops the server's request counting). Idempotent. */
  close(): void {
    for (const stop of this.#stops) stop();
    this.#stops = [];
    for (const [name, listener] of this.#subscriptions) unsubscribe(name, listener);
    this.#subscriptions = [];
  }

  #on(name: string, listener: (message: unknown) => void): void {
    subscribe(name, listener);
    this.#subscriptions.push([name, listener]);
  }
}
