/**
 * The per-request metrics (`wharf_requests_total`, `wharf_request_duration_seconds`) as plain tallies that a
 * request updates with a few array writes, turned into Prometheus values only when scraped. prom-client's own
 * Counter and Histogram hash their label objects on every update: measured on the pipelined 64-byte ping load,
 * they took about 8% of the server's CPU, a tax on every request of a server that is scraped every 15 s.
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

interface TypeTally {
  /** Requests by code ("ok" when none). */
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

  /** One finished request: its type, its error code (null: ok), how long it took in ms. */
  record(type: string, code: string | null, durationMs: number): void {
    let tally = this.#types.get(type);
    if (tally === undefined && this.#types.size >= MAX_TYPES) {
      type = "(other)";
      tally = this.#types.get(type);
    }
    if (tally === undefined) {
      tally = { codes: new Map(), buckets: new Array<number>(this.#bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.#types.set(type, tally);
    }
    const key = code ?? "ok";
    tally.codes.set(key, (tally.codes.get(key) ?? 0) + 1);
    const seconds = durationMs / 1_000;
    let bucket = 0;
    while (bucket < this.#bounds.length && seconds > this.#bounds[bucket]) bucket += 1;
    tally.buckets[bucket] += 1;
    tally.sum += seconds;
    tally.count += 1;
  }

  /** `wharf_requests_total{type,code}`. */
  requestsMetric(): { name: string; get(): Promise<MetricSnapshot>; reset(): void } {
    const name = "wharf_requests_total";
    return {
      name,
      get: async () => {
        const values: MetricValue[] = [];
        for (const [type, tally] of this.#types) for (const [code, value] of tally.codes) values.push({ value, labels: { type, code } });
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
