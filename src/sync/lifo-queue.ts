/**
 * LifoQueue: a last-in first-out queue (a stack), Python's `queue.LifoQueue`.
 */
import { Queue } from "./queue.js";

/**
 * A {@link Queue} that returns the most recently put item first. Same waiting, fairness and shutdown rules.
 *
 * @example
 * ```ts
 * const stack = new LifoQueue<number>();
 * stack.putNowait(1); stack.putNowait(2);
 * stack.getNowait(); // 2
 * ```
 */
export class LifoQueue<T = unknown> extends Queue<T> {
  readonly #stack: T[] = [];

  protected override _qsize(): number {
    return this.#stack.length;
  }

  protected override _put(item: T): void {
    this.#stack.push(item);
  }

  protected override _get(): T {
    return this.#stack.pop() as T;
  }
}
