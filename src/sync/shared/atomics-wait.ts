/**
 * Waiting on a SharedArrayBuffer word without blocking the event loop, for the Shared* primitives.
 *
 * Two facts about `Atomics.waitAsync` in Node shape this helper:
 * - A pending waitAsync does not keep the event loop alive (not even its own timeout), so while anyone waits we hold
 *   one ref'd interval, as a pending in-loop wait on a timer would.
 * - A waitAsync cannot be cancelled. An aborted wait is abandoned; if a notify later wakes it, that wake was meant
 *   for a live waiter, so it is passed on with another notify (all our protocols re-check state after waking, so
 *   an extra wake is harmless while a lost one could strand a waiter).
 */
import { MAX_TIMER_DELAY } from "../options.js";

// Node 20 has Atomics.waitAsync, but the project's lib setting (ES2023) does not describe it.
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: "not-equal" | "timed-out" } | { async: true; value: Promise<"ok" | "timed-out"> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

let keepAliveCount = 0;
let keepAliveTimer: NodeJS.Timeout | undefined;

function retain(): void {
  keepAliveCount += 1;
  if (keepAliveCount === 1) keepAliveTimer = setInterval(() => {}, MAX_TIMER_DELAY);
}

function release(): void {
  keepAliveCount -= 1;
  if (keepAliveCount === 0) {
    clearInterval(keepAliveTimer);
    keepAliveTimer = undefined;
  }
}

/** Result of one wait: woken by a notify, the word no longer held `expected`, or the timeout ran out. */
export type WaitResult = "ok" | "not-equal" | "timed-out";

/**
 * Waits while `array[index] === expected`, for at most `timeout` ms (Infinity: no limit). Rejects with the signal's
 * reason on abort.
 */
export function waitWhileEqual(
  array: Int32Array,
  index: number,
  expected: number,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<WaitResult> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const result = waitAsync(array, index, expected, timeout);
  if (!result.async) return Promise.resolve(result.value);
  retain();
  if (signal === undefined) {
    return result.value.finally(release) as Promise<WaitResult>;
  }
  return new Promise<WaitResult>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      release();
      reject(signal.reason);
      void result.value.then((outcome) => {
        if (outcome === "ok") Atomics.notify(array, index, 1);
      });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    void result.value.then((outcome) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      release();
      resolve(outcome);
    });
  });
}

/** Checks a handle received from another thread before trusting its layout. */
export function checkHandle(handle: unknown, kind: string, minBytes: number): SharedArrayBuffer {
  if (handle === null || typeof handle !== "object") throw new TypeError(`handle must be a ${kind} handle object`);
  const { kind: actual, sab } = handle as { kind?: unknown; sab?: unknown };
  if (actual !== kind) throw new TypeError(`handle.kind must be "${kind}", got ${JSON.stringify(actual)}`);
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < minBytes) {
    throw new TypeError(`handle.sab must be a SharedArrayBuffer of at least ${minBytes} bytes`);
  }
  return sab;
}
