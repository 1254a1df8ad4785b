/** Small helpers shared by the sync tests. */
import { setImmediate as immediate, setTimeout as sleep } from "node:timers/promises";

export { sleep };

/** Lets every pending promise reaction and one macrotask turn run. */
export async function settle(): Promise<void> {
  await immediate();
  await immediate();
}

/** Tracks whether a promise has settled, without awaiting it. */
export function track<T>(promise: Promise<T>): { settled: () => boolean; value: () => T | undefined; error: () => unknown } {
  let settled = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    (e: unknown) => {
      settled = true;
      error = e;
    },
  );
  return { settled: () => settled, value: () => value, error: () => error };
}

/** Polls `condition` every few milliseconds until it holds or `timeout` ms pass; resolves whether it held. */
export async function until(condition: () => boolean, timeout = 5000): Promise<boolean> {
  const deadline = performance.now() + timeout;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(2);
  }
  return true;
}
