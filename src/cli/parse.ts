import { InvalidArgumentError, Option } from "commander";

/** Commander parser for a non-negative integer option. */
export function integerOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** Parses sizes like `512`, `64K`, `16MiB`, `1.5G` (binary units) into bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidArgumentError(`not a size: ${JSON.stringify(text)} (examples: 512, 64K, 16MiB, 2G)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`size too large: ${text}`);
  return bytes;
}

/** Commander parser for seconds (fractions allowed), returned as milliseconds. */
export function secondsOption(name: string): (value: string) => number {
  return (value: string) => {
    const seconds = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(seconds)) throw new InvalidArgumentError(`${name} must be a number of seconds`);
    return Math.round(seconds * 1000);
  };
}

const DURATION_UNITS: Record<string, number> = { "": 1000, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** Commander parser for a duration: `30d`, `12h`, `90m`, `45s`, or a bare number of seconds; returned as ms. */
export function durationOption(name: string): (value: string) => number {
  return (value: string) => {
    const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(value.trim());
    const ms = match ? Math.round(Number(match[1]) * DURATION_UNITS[match[2]]) : NaN;
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new InvalidArgumentError(`${name} must be a duration such as 30d, 12h, 90m or 45s`);
    return ms;
  };
}

/** Milliseconds as the seconds an option takes, for `--help`: 120000 → "120", 1500 → "1.5". */
export function asSeconds(ms: number): string {
  return String(ms / 1000);
}

/** Milliseconds as the largest whole unit of {@link durationOption}: 2592000000 → "30d". */
export function asDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) if (ms % DURATION_UNITS[unit] === 0) return `${ms / DURATION_UNITS[unit]}${unit}`;
  return `${ms / 1000}s`;
}

/**
 * An option taking seconds, parsed to ms, whose `--help` default is shown in seconds, the unit it takes (commander
 * would print the parsed value, in ms).
 */
export function secondsFlag(flags: string, description: string, defaultMs?: number): Option {
  const name = flags.split(/[ ,]+/).find((part) => part.startsWith("--")) ?? flags;
  const option = new Option(flags, description).argParser(secondsOption(name));
  return defaultMs === undefined ? option : option.default(defaultMs, asSeconds(defaultMs));
}
