/** One exchange with a time server: the four timestamps of NTP, in microseconds since the Unix epoch. */
export interface TimeSample {
  /** Client clock when the request left. */
  t1: number;
  /** Server clock when the request arrived. */
  t2: number;
  /** Server clock when the reply left. */
  t3: number;
  /** Client clock when the reply arrived. */
  t4: number;
}

/** What one sample says: offset of the server's clock from the client's, round-trip delay, both in µs. */
export interface TimeEstimate {
  /** Server clock minus client clock: ((t2 - t1) + (t3 - t4)) / 2. */
  offsetUs: number;
  /** Time on the network, without the server's own time: (t4 - t1) - (t3 - t2). */
  delayUs: number;
  /** The true offset lies within offset ± this: delay / 2 (whatever the split of the delay between the two ways). */
  errorUs: number;
}

/**
 * The NTP formulas (RFC 5905 §8) for one sample.
 *
 * @example
 * ```ts
 * estimate({ t1: 0, t2: 5_010, t3: 5_012, t4: 22 }); // { offsetUs: 5000, delayUs: 20, errorUs: 10 }
 * ```
 */
export function estimate(sample: TimeSample): TimeEstimate {
  const { t1, t2, t3, t4 } = sample;
  const offsetUs = (t2 - t1 + (t3 - t4)) / 2;
  const delayUs = Math.max(0, t4 - t1 - (t3 - t2));
  return { offsetUs, delayUs, errorUs: delayUs / 2 };
}

/** The sample with the least delay: its offset has the smallest error bound. */
export function bestSample<T extends TimeSample>(samples: T[]): T {
  if (samples.length === 0) throw new RangeError("no samples");
  return samples.reduce((best, s) => (estimate(s).delayUs < estimate(best).delayUs ? s : best));
}
