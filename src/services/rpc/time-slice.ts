/**
 * Cooperative time slicing for RPC work that runs in microtasks only: a stream whose generator never waits, or a
 * batch of quick calls, would otherwise hold the event loop until it is done (issue 11: 300 `demo.count` calls in
 * one batch stalled every other client for seconds). Such work asks {@link TimeSlice.due} between steps and
 * waits when told to, which lets timers and I/O of every other connection run.
 */
import { performance } from "node:perf_hooks";

/** The longest stretch of RPC work between two turns of the event loop, in ms. */
export const DEFAULT_SLICE_MS = 10;

/**
 * A budget of event-loop time shared by everything that asks it: once a slice's time is used up, every caller of
 * {@link due} waits for the same `setImmediate()` turn, after the event loop has polled for I/O, and a new slice
 * begins. Sharing one slice per event loop (not one per call) matters: a hundred concurrent streams that each took
 * a slice of their own would add up to a long stall again.
 *
 * @example
 * ```ts
 * for (const item of work) {
 *   const wait = rpcTimeSlice.due();
 *   if (wait !== undefined) await wait;
 *   handle(item);
 * }
 * ```
 */
export class TimeSlice {
  readonly #sliceMs: number;
  #start = performance.now();
  #turn: Promise<void> | null = null;

  constructor(sliceMs = DEFAULT_SLICE_MS) {
    if (!(sliceMs > 0)) throw new RangeError("sliceMs must be a positive number of milliseconds");
    this.#sliceMs = sliceMs;
  }

  /**
   * Undefined while the current slice has time left (go on at once: no promise, no microtask), otherwise a
   * promise that resolves on the next turn of the event loop, when a new slice begins.
   */
  due(): Promise<void> | undefined {
    if (this.#turn !== null) return this.#turn;
    if (performance.now() - this.#start < this.#sliceMs) return undefined;
    this.#turn = new Promise((resolve) => {
      setImmediate(() => {
        this.#turn = null;
        this.#start = performance.now();
        resolve();
      });
    });
    return this.#turn;
  }
}

/** The slice of RPC work on this thread (each worker thread has its own event loop, and its own copy). */
export const rpcTimeSlice = new TimeSlice();
