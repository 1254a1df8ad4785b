/**
 * Milliseconds on a monotonic clock, for how long a transfer took. Not `performance.now()`: the first use of the
 * global `performance` loads node:perf_hooks, about 2 ms of CPU in every `wharf put` and `get` (issue 15).
 *
 * @example
 * ```ts
 * const started = monotonicMs();
 * // ... the transfer
 * const seconds = (monotonicMs() - started) / 1000;
 * ```
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
