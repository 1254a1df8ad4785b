/**
 * The options every waiting method of `wharf/sync` takes, and their validation.
 */

/**
 * How long to wait and how to give up.
 *
 * @example
 * ```ts
 * const got = await lock.acquire({ timeout: 500, signal: AbortSignal.timeout(10_000) });
 * ```
 */
export interface WaitOptions {
  /** Milliseconds to wait at most; `undefined` or `Infinity` waits for ever, `0` only tries. */
  timeout?: number | undefined;
  /** Aborting it rejects the wait with `signal.reason` and leaves nothing held. */
  signal?: AbortSignal | undefined;
}

/** Throws a TypeError/RangeError naming the bad option; returns nothing so the hot path stays cheap. */
export function validateWaitOptions(options: WaitOptions | undefined, name = "options"): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${name} must be an object`);
  }
  const { timeout, signal } = options;
  if (timeout !== undefined && (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0)) {
    throw new RangeError(`${name}.timeout must be a non-negative number of milliseconds`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${name}.signal must be an AbortSignal`);
  }
}

/**
 * The validation error for `options`, or undefined: promise-returning methods reject with it instead of throwing,
 * so that a caller's `.catch()` sees every failure.
 */
export function waitOptionsError(options: WaitOptions | undefined): Error | undefined {
  if (options === undefined) return undefined;
  try {
    validateWaitOptions(options);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/** Largest delay setTimeout accepts; longer ones are chained so a huge timeout does not fire at once. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** `performance.now()`-based deadline, or Infinity when there is no timeout. */
export function deadlineOf(timeout: number | undefined): number {
  return timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;
}

/** Milliseconds left before `deadline` (never negative). */
export function remainingUntil(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}

/** Checks that `value` is an integer within bounds, naming it in the error. */
export function validateInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? min === 0
          ? "a non-negative integer"
          : min === 1
            ? "a positive integer"
            : `an integer >= ${min}`
        : `an integer between ${min} and ${max}`;
    throw new RangeError(`${name} must be ${range}`);
  }
  return value;
}

/** Checks that `value` is a function, naming it in the error. */
export function validateFunction(value: unknown, name: string): void {
  if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
}

export const RESOLVED_TRUE: Promise<boolean> = Promise.resolve(true);
export const RESOLVED_FALSE: Promise<boolean> = Promise.resolve(false);
export const RESOLVED_VOID: Promise<void> = Promise.resolve();
