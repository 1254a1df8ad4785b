/**
 * What the stats service counts between two snapshots: requests per type, their errors, and a fixed-size sample of
 * their durations. Memory is bounded whatever the traffic: the sample is a reservoir of {@link RESERVOIR_SIZE}
 * durations (Vitter's algorithm R, every request equally likely to be kept), and the per-type table has at most
 * {@link MAX_TYPES} rows, since the names come from clients (an unknown type's name is whatever a client sent).
 */

/** Durations kept per interval to compute the latency percentiles. */
export const RESERVOIR_SIZE = 1024;

/** Most request types counted apart; the rest are counted under {@link OTHER_TYPE}. */
export const MAX_TYPES = 256;

/** The row of requests whose type is not a registered one (or past {@link MAX_TYPES}). */
export const OTHER_TYPE = "(other)";

/** One request type's counters in a snapshot. */
export interface TypeStats {
  /** Requests of this type counted so far (the stats service counts while someone watches). */
  count: number;
  /** Of those, the ones answered with an error. */
  errors: number;
  /** Requests of this type per second over the last interval. */
  perSecond: number;
}

/** Latency percentiles of the requests finished in the last interval, in ms; all 0 when there were none. */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
}

interface TypeCounter {
  count: number;
  errors: number;
  inInterval: number;
}

/**
 * The counters of one stats service: totals since it started, and the current interval's counts and latency
 * sample. `cut()` ends the interval and starts the next.
 *
 * @example
 * ```ts
 * const window = new StatsWindow((type) => server.requestTypes().includes(type));
 * window.record("files.get", null, 3.2);
 * const { byType, requestsPerSecond, latencyMs } = window.cut(1_000);
 * ```
 */
export class StatsWindow {
  readonly #known: (type: string) => boolean;
  readonly #types = new Map<string, TypeCounter>();
  readonly #sample = new Float64Array(RESERVOIR_SIZE);
  /** Requests finished in this interval (also how many the reservoir has seen). */
  #seen = 0;

  /** `known` says whether a type name is one the server serves: only those get a row of their own. */
  constructor(known: (type: string) => boolean) {
    this.#known = known;
  }

  /** Counts one finished request: `code` null when it succeeded. */
  record(type: string, code: string | null, durationMs: number): void {
    const counter = this.#counterOf(type);
    counter.count += 1;
    counter.inInterval += 1;
    if (code !== null) counter.errors += 1;
    const duration = Number.isFinite(durationMs) && durationMs >= 0 ? durationMs : 0;
    if (this.#seen < RESERVOIR_SIZE) {
      this.#sample[this.#seen] = duration;
    } else {
      const slot = Math.floor(Math.random() * (this.#seen + 1));
      if (slot < RESERVOIR_SIZE) this.#sample[slot] = duration;
    }
    this.#seen += 1;
  }

  /**
   * Ends the interval, which lasted `elapsedMs`: resolves the per-second rates and percentiles of the requests
   * finished in it, and starts the next one. Totals carry on.
   */
  cut(elapsedMs: number): { requests: number; errors: number; requestsPerSecond: number; byType: Record<string, TypeStats>; latencyMs: LatencyPercentiles; samples: number } {
    const seconds = Math.max(elapsedMs, 1) / 1000;
    const byType: Record<string, TypeStats> = {};
    let requests = 0;
    let errors = 0;
    for (const [type, counter] of [...this.#types].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      byType[type] = { count: counter.count, errors: counter.errors, perSecond: round(counter.inInterval / seconds) };
      requests += counter.count;
      errors += counter.errors;
      counter.inInterval = 0;
    }
    const kept = Math.min(this.#seen, RESERVOIR_SIZE);
    const sorted = this.#sample.slice(0, kept).sort();
    const latencyMs = { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99) };
    const requestsPerSecond = round(this.#seen / seconds);
    this.#seen = 0;
    return { requests, errors, requestsPerSecond, byType, latencyMs, samples: kept };
  }

  #counterOf(type: string): TypeCounter {
    let counter = this.#types.get(type);
    if (counter !== undefined) return counter;
    const name = this.#types.size < MAX_TYPES - 1 && this.#known(type) ? type : OTHER_TYPE;
    counter = this.#types.get(name);
    if (counter === undefined) {
      counter = { count: 0, errors: 0, inInterval: 0 };
      this.#types.set(name, counter);
    }
    return counter;
  }
}

/** Nearest-rank percentile of sorted values; 0 for none. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return round(sorted[rank]);
}

/** Three decimals: enough for ms and rates, and short on the wire. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
