/** Size limits of the wire. All are checked as soon as a length is read, before any of it is buffered. */
export interface FrameLimits {
  /** Largest header, in bytes of JSON. Default 64 KiB. */
  maxHeaderSize?: number;
  /** Largest body held in memory (a buffered body). Default 16 MiB. */
  maxBodySize?: number;
  /** Largest declared size of a streamed body: a sanity check, not a memory bound. Default 1 TiB. */
  maxStreamSize?: number;
}

/** The limits with every default filled in. */
export type ResolvedFrameLimits = Required<FrameLimits>;

/** Bytes of the big-endian header length that starts every frame. */
export const LENGTH_PREFIX_SIZE = 4;
export const DEFAULT_MAX_HEADER_SIZE = 64 * 1024;
export const DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024;
export const DEFAULT_MAX_STREAM_SIZE = 1024 ** 4;
/** The largest header length the 4-byte prefix can express. */
export const MAX_HEADER_LENGTH_FIELD = 0xffff_ffff;

function checkLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`options.${name} must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Fills in defaults and validates user-given limits.
 *
 * @example
 * ```ts
 * resolveLimits({ maxBodySize: 1024 }); // { maxHeaderSize: 65536, maxBodySize: 1024, maxStreamSize: 2 ** 40 }
 * ```
 */
export function resolveLimits(limits: FrameLimits = {}): ResolvedFrameLimits {
  const maxHeaderSize = checkLimit("maxHeaderSize", limits.maxHeaderSize, DEFAULT_MAX_HEADER_SIZE);
  if (maxHeaderSize > MAX_HEADER_LENGTH_FIELD) {
    throw new RangeError(`options.maxHeaderSize must be at most ${MAX_HEADER_LENGTH_FIELD}`);
  }
  return {
    maxHeaderSize,
    maxBodySize: checkLimit("maxBodySize", limits.maxBodySize, DEFAULT_MAX_BODY_SIZE),
    maxStreamSize: checkLimit("maxStreamSize", limits.maxStreamSize, DEFAULT_MAX_STREAM_SIZE),
  };
}
