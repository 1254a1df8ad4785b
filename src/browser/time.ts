import type { BrowserConnection } from "./connection.js";

/** What {@link time} measures, all in milliseconds. */
export interface TimeReading {
  /** The server's time (ms since the epoch) when the best sample's reply arrived, by the estimate. */
  serverTime: number;
  /** How far the server's clock is ahead of this one (negative: behind). */
  offset: number;
  /** The round trip of the best sample, less the server's own time. */
  delay: number;
}

/** Microseconds since the epoch, on a clock that does not jump (performance.now() from the page's origin time). */
function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * Asks the server for its time (`time`: t2 and t3 in µs) `samples` times (default 4) and keeps the sample with
 * the least delay, with the NTP formulas: offset = ((t2 − t1) + (t3 − t4)) / 2, delay = (t4 − t1) − (t3 − t2).
 *
 * @example
 * ```ts
 * const { offset, delay } = await time(conn);
 * console.log(`server is ${offset.toFixed(1)} ms ahead (±${(delay / 2).toFixed(1)})`);
 * ```
 */
export async function time(conn: BrowserConnection, options: { samples?: number; timeout?: number } = {}): Promise<TimeReading> {
  const samples = options.samples ?? 4;
  if (!Number.isSafeInteger(samples) || samples < 1) throw new RangeError("options.samples must be a positive integer");
  let best: TimeReading | null = null;
  for (let i = 0; i < samples; i += 1) {
    const t1 = nowUs();
    const { header } = await conn.request({ type: "time", t1 }, undefined, { timeout: options.timeout ?? 5_000 });
    const t4 = nowUs();
    const t2 = Number(header.t2);
    const t3 = Number(header.t3);
    const offsetUs = (t2 - t1 + (t3 - t4)) / 2;
    const delayUs = Math.max(0, t4 - t1 - (t3 - t2));
    const reading = { serverTime: (t4 + offsetUs) / 1000, offset: offsetUs / 1000, delay: delayUs / 1000 };
    if (best === null || reading.delay < best.delay) best = reading;
  }
  return best as TimeReading;
}
