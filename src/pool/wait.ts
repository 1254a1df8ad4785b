/**
 * `wait()` and `asCompleted()`: waiting on several futures, as in Python's `concurrent.futures`.
 */
import { deadlineOf, remainingUntil, validateWaitOptions } from "../sync/options.js";
import { TimeoutError } from "./errors.js";
import { Future, kFailed, kSubscribe } from "./future.js";

/** When {@link wait} resolves. */
export type ReturnWhen = "FIRST_COMPLETED" | "FIRST_EXCEPTION" | "ALL_COMPLETED";

export const FIRST_COMPLETED: ReturnWhen = "FIRST_COMPLETED";
export const FIRST_EXCEPTION: ReturnWhen = "FIRST_EXCEPTION";
export const ALL_COMPLETED: ReturnWhen = "ALL_COMPLETED";

/** Options of {@link wait}. */
export interface WaitFuturesOptions {
  /** Default `ALL_COMPLETED`. */
  returnWhen?: ReturnWhen | undefined;
  /** Milliseconds; when it runs out, resolves with what is done so far (never rejects). */
  timeout?: number | undefined;
}

/** The two sets {@link wait} resolves. */
export interface DoneAndNotDone<T> {
  done: Set<Future<T>>;
  notDone: Set<Future<T>>;
}

/**
 * Waits until some or all `futures` are done. Resolves `{ done, notDone }`. `FIRST_EXCEPTION` returns when any
 * future fails (cancelled ones do not count) or when all are done. Never rejects on timeout: check `notDone`.
 *
 * @example
 * ```ts
 * const { done, notDone } = await wait(futures, { returnWhen: "FIRST_COMPLETED", timeout: 1000 });
 * ```
 */
export async function wait<T>(
  futures: Iterable<Future<T>>,
  options: WaitFuturesOptions = {},
): Promise<DoneAndNotDone<T>> {
  const all = new Set(futures);
  for (const f of all) if (!(f instanceof Future)) throw new TypeError("futures must contain only Future objects");
  validateWaitOptions({ timeout: options.timeout });
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (![FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED].includes(returnWhen)) {
    throw new RangeError("options.returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED");
  }
  const partition = (): DoneAndNotDone<T> => {
    const done = new Set<Future<T>>();
    const notDone = new Set<Future<T>>();
    for (const f of all) (f.done() ? done : notDone).add(f);
    return { done, notDone };
  };
  // Counted incrementally, so that waiting on many futures costs O(1) per completion.
  let doneCount = 0;
  let failed = false;
  const note = (f: Future<T>): void => {
    doneCount += 1;
    if (f[kFailed]()) failed = true;
  };
  const satisfied = (): boolean => {
    if (doneCount === all.size) return true;
    if (returnWhen === FIRST_COMPLETED) return doneCount > 0;
    if (returnWhen === FIRST_EXCEPTION) return failed;
    return false;
  };
  const pending: Future<T>[] = [];
  for (const f of all) {
    if (f.done()) note(f);
    else pending.push(f);
  }
  if (satisfied()) return partition();

  return new Promise<DoneAndNotDone<T>>((resolve) => {
    const unsubscribes: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const unsubscribe of unsubscribes) unsubscribe();
      resolve(partition());
    };
    for (const f of pending) {
      unsubscribes.push(
        f[kSubscribe](() => {
          note(f);
          if (satisfied()) finish();
        }),
      );
    }
    const deadline = deadlineOf(options.timeout);
    if (deadline !== Infinity) timer = setTimeout(finish, Math.min(remainingUntil(deadline), 2 ** 31 - 1));
  });
}

/** Options of {@link asCompleted}. */
export interface AsCompletedOptions {
  /** Milliseconds from the call; if futures are still not done by then, the iteration throws {@link TimeoutError}. */
  timeout?: number | undefined;
}

/**
 * Yields each future as it completes (those already done first). Duplicates are yielded once. Throws
 * {@link TimeoutError} from the iteration if `timeout` runs out before all are done.
 *
 * @example
 * ```ts
 * for await (const future of asCompleted(futures, { timeout: 10_000 })) console.log(await future.result());
 * ```
 */
export function asCompleted<T>(
  futures: Iterable<Future<T>>,
  options: AsCompletedOptions = {},
): AsyncIterableIterator<Future<T>> {
  const all = new Set(futures);
  for (const f of all) if (!(f instanceof Future)) throw new TypeError("futures must contain only Future objects");
  validateWaitOptions({ timeout: options.timeout });
  const deadline = deadlineOf(options.timeout);
  const total = all.size;
  const completed: Future<T>[] = [];
  let wake: (() => void) | undefined;
  const unsubscribes: (() => void)[] = [];
  for (const f of all) {
    if (f.done()) completed.push(f);
    else
      unsubscribes.push(
        f[kSubscribe](() => {
          completed.push(f);
          wake?.();
        }),
      );
  }

  return (async function* iterate(): AsyncGenerator<Future<T>> {
    try {
      for (let yielded = 0; yielded < total; yielded += 1) {
        while (completed.length === 0) {
          const timeout = remainingUntil(deadline);
          if (timeout === 0) {
            throw new TimeoutError(`asCompleted(): ${total - yielded} of ${total} futures unfinished after ${options.timeout} ms`);
          }
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (timeout !== Infinity) timer = setTimeout(resolve, Math.min(timeout, 2 ** 31 - 1));
          });
          clearTimeout(timer);
          wake = undefined;
        }
        yield completed.shift()!;
      }
    } finally {
      for (const unsubscribe of unsubscribes) unsubscribe();
    }
  })();
}
