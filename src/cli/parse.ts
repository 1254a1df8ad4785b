import { InvalidArgumentError } from "commander";

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
