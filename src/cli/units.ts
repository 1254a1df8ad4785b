/**
 * Numbers for people: sizes in binary units, rates and durations rounded to what a person reads. Exact values stay
 * in `--json` output.
 *
 * @module
 */

/**
 * Bytes for people: 1023 B, 1.50 KiB, 12.0 MiB, 3.25 GiB; fractions of a byte (a rate) are rounded.
 *
 * @example
 * ```ts
 * formatBytes(352.89376415545104); // "353 B"
 * formatBytes(1536); // "1.50 KiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}


/** A rate for people: `353 B/s`, `12.0 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds for people: `0.02 s`, `1.5 s`, `12 s`, `3 min 20 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}
