/**
 * Running one call to completion on the server side, whichever way it came in: wait for the handler's value
 * (or its stream) but never past the call's abort (cancel, deadline, connection loss).
 */
import type { RpcContext } from "./context.js";
import { rpcTimeSlice } from "./time-slice.js";

/** Settles like `promise`, or rejects with the abort reason as soon as the call is aborted. */
export function untilAborted<T>(promise: PromiseLike<T>, ctx: RpcContext): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    ctx.onAbort(reject);
    promise.then(resolve, reject);
  });
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}

/** A streaming result: an async iterable that is not plain data (strings and buffers are values). */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function"
  );
}

/** The handler's outcome with promises resolved: a value, or an async iterable of items. */
export async function settle(outcome: unknown, ctx: RpcContext): Promise<unknown> {
  return isPromiseLike(outcome) ? untilAborted(outcome, ctx) : outcome;
}

/**
 * Pulls a streaming result item by item, handing each to `emit` (which may wait: backpressure). Stops the
 * iterator (its `finally` blocks run) when the call is aborted or `emit` throws. Between items it gives the event
 * loop back when the RPC time slice is used up ({@link rpcTimeSlice}), so that a generator that never waits
 * cannot starve other clients. Resolves the number of items.
 */
export async function pump(items: AsyncIterable<unknown>, ctx: RpcContext, emit: (item: unknown) => void | Promise<void>): Promise<number> {
  const iterator = items[Symbol.asyncIterator]();
  // One abort listener for the whole stream, not one per item: the context keeps its listeners until the call
  // ends, and a listener per item held every item's promise (issue 11: a gigabyte for 3 million items).
  let reason: unknown;
  let fail: ((err: unknown) => void) | null = null;
  ctx.onAbort((err) => {
    reason = err;
    fail?.(err);
  });
  const guarded = <T>(promise: PromiseLike<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (reason !== undefined) {
        // Already aborted: the promise (the generator's next step) is abandoned, but it may still reject, and a
        // rejection nobody handles would be the process's problem (found by the fuzz test).
        promise.then(undefined, () => {});
        return reject(reason);
      }
      fail = reject;
      promise.then(resolve, reject);
    });
  let count = 0;
  try {
    for (;;) {
      const next = await guarded(iterator.next());
      if (next.done === true) return count;
      const sent = emit(next.value);
      if (sent !== undefined) await guarded(sent);
      count += 1;
      const turn = rpcTimeSlice.due();
      if (turn !== undefined) await guarded(turn);
    }
  } catch (err) {
    void Promise.resolve(iterator.return?.()).catch(() => {});
    throw err;
  } finally {
    fail = null;
  }
}
