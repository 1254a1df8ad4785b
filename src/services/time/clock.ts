/** Microseconds since the Unix epoch (an integer; exact in a double until the year 2255). */
export type Clock = () => number;

/** Options of {@link createClock}. */
export interface ClockOptions {
  /** Shifts the clock by this many milliseconds (tests inject a known offset; may be fractional or negative). */
  offsetMs?: number;
}

/**
 * A wall clock with microsecond resolution that never jumps: the system time read once, when the clock is made
 * (at the edge of a millisecond, so making a clock takes up to 1 ms), plus the monotonic time elapsed since
 * (`process.hrtime`). The monotonic clock is slewed by NTP like the
 * system clock, so the two stay together; a step of the system clock after the start is not followed (see
 * docs/time.md).
 *
 * @example
 * ```ts
 * const clock = createClock();
 * const t = clock(); // e.g. 1767225600123456 (µs since 1970)
 * const shifted = createClock({ offsetMs: 5_000 }); // 5 s ahead of the system
 * ```
 */
export function createClock(options: ClockOptions = {}): Clock {
  const offsetMs = options.offsetMs ?? 0;
  if (typeof offsetMs !== "number" || !Number.isFinite(offsetMs)) throw new TypeError("options.offsetMs must be a finite number");
  // Date.now() has millisecond steps: anchoring right at a step makes the anchor exact to a few µs, not 1 ms.
  const before = Date.now();
  let wall = Date.now();
  while (wall === before) wall = Date.now();
  const startHr = process.hrtime.bigint();
  const startUs = wall * 1000 + Math.round(offsetMs * 1000);
  return () => startUs + Number((process.hrtime.bigint() - startHr) / 1000n);
}

/** The process's shared clock: what `wharf serve` answers with and what clients measure with. */
export const systemClock: Clock = createClock();
