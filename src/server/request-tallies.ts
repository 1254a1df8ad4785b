/**
 * The per-request metrics (`wharf_requests_total`, `wharf_request_duration_seconds`) as plain tallies that a
 * request updates with a few array writes, turned into Prometheus values only when scraped. prom-client's own
 * Counter and Histogram hash their label objects on every update: measured on the pipelined 64-byte ping load,
 * they took about 8% of the server's CPU, a tax on every request of a server that is scraped every 15 s.
 *
 * The server counts into them in place ({@link Server.countRequests}), without a `wharf:request` message per
 * request: the requests of one input (a chunk, a datagram) share one duration, so its bucket is found once.
 *
 * Both objects have the shape prom-client's Registry expects of a metric (`name`, `help`, `type`, `aggregator`,
 * `get()`, `reset()`), so they render in `/metrics` and sum across `--workers` like the others.
 *
 * @module
 */

/** One value of a metric, as prom-client's Registry renders it. */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads of a metric. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: MetricValue[];
}

/** Most distinct types kept (labels are for a server's own types; beyond this everything is "(other)"). */
const MAX_TYPES = 256;
const OTHER = "(other)";

/** The counts of one request type: what {@link RequestTallies.slot} returns and the record methods update. */
export interface TypeTally {
  /** Requests that succeeded. */
  ok: number;
  /** Requests that failed, by error code. */
  codes: Map<string, number>;
  /** Cumulative counts are computed at scrape time; here, the count that fell in each bucket. */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Counts requests by type and code and their durations in fixed buckets.
 *
 * @example
 * ```ts
 * const tallies = new RequestTallies([0.001, 0.01, 0.1]);
 * tallies.record("ping", null, 0.4);
 * registry.registerMetric(tallies.requestsMetric());
 * registry.registerMetric(tallies.durationMetric());
 * ```
 */
export class RequestTallies {
  readonly #bounds: number[];
  #types = new Map<string, TypeTally>();

  /** `bounds`: the histogram's upper bounds in seconds, ascending. */
  constructor(bounds: number[]) {
    this.#bounds = [...bounds];
  }

  /**
   * The tally of `type`, made on first use; past {@link MAX_TYPES} types, that of "(other)". Looking it up is
   * the one map access of a request that succeeds.
   */
  slot(type: string): TypeTally {
    let tally = this.#types.get(type);
    if (tally !== undefined) return tally;
    if (this.#types.size >= MAX_TYPES && type !== OTHER) return this.slot(OTHER);
    tally = { ok: 0, codes: new Map(), buckets: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
    this.#types.set(type, tally);
    return tally;
  }

  /** One finished request: its type, its error code (null: ok), how long it took in ms. */
  record(type: string, code: string | null, durationMs: number): void {
    this.recordIn(this.slot(type), code, durationMs);
  }

  /** One finished request, counted in the tally of its type. */
  recordIn(tally: TypeTally, code: string | null, durationMs: number): void {
    const seconds = durationMs / 1_000;
    add(tally, code, this.#bucketOf(seconds), seconds);
  }

  /** The first `n` requests of `tallies` and `codes` (one each), which all took `durationMs`. */
  recordSame(tallies: readonly TypeTally[], codes: readonly (string | null)[], n: number, durationMs: number): void {
    const seconds = durationMs / 1_000;
    const bucket = this.#bucketOf(seconds);
    for (let i = 0; i < n; i += 1) add(tallies[i], codes[i], bucket, seconds);
  }

  #bucketOf(seconds: number): number {
    const bounds = this.#bounds;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]) bucket += 1;
    return bucket;
  }

  /** `wharf_requests_total{type,code}`. */
  requestsMetric(): { name: string; get(): Promise<MetricSnapshot>; reset(): void } {
    const name = "wharf_requests_total";
    return {
      name,
      get: async () => {
        const values: MetricValue[] = [];
        for (const [type, tally] of this.#types) {
          if (tally.ok > 0) values.push({ value: tally.ok, labels: { type, code: "ok" } });
          for (const [code, value] of tally.codes) values.push({ value, labels: { type, code } });
        }
        return { name, help: "Requests answered, by type and error code (ok when none)", type: "counter", aggregator: "sum", values };
      },
      reset: () => this.#types.clear(),
    };
  }

  /** `wharf_request_duration_seconds{type}` with `_bucket{le}`, `_sum` and `_count`. */
  durationMetric(): { name: string; get(): Promise<MetricSnapshot>; reset(): void } {
    const name = "wharf_request_duration_seconds";
    return {
      name,
      get: async () => {
        const values: MetricValue[] = [];
        for (const [type, tally] of this.#types) {
          let cumulative = 0;
          this.#bounds.forEach((le, i) => {
            cumulative += tally.buckets[i];
            values.push({ value: cumulative, labels: { le, type }, metricName: `${name}_bucket` });
          });
          values.push({ value: tally.count, labels: { le: "+Inf", type }, metricName: `${name}_bucket` });
          values.push({ value: tally.sum, labels: { type }, metricName: `${name}_sum` });
          values.push({ value: tally.count, labels: { type }, metricName: `${name}_count` });
        }
        return { name, help: "Time from a request's arrival to its reply", type: "histogram", aggregator: "sum", values };
      },
      reset: () => this.#types.clear(),
    };
  }
}

function add(tally: TypeTally, code: string | null, bucket: number, seconds: number): void {
  if (code === null) tally.ok += 1;
  else tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
  tally.buckets[bucket] += 1;
  tally.sum += seconds;
  tally.count += 1;
}
