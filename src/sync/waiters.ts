/**
 * The FIFO of parked callers shared by every in-loop primitive. A doubly linked list, so that a waiter that times
 * out or is aborted leaves from the middle in O(1), and the head is served without Array.shift.
 *
 * The single invariant that prevents lost wakeups and lock leaks: a waiter is settled exactly once, either by the
 * primitive (which first unlinks it with `shift()` and then calls `grant()`), or by its own timer / abort listener
 * (which first unlinks it with `remove()`). Both happen synchronously in one event loop, so whichever runs first
 * wins and the other finds the waiter gone.
 */
import { MAX_TIMER_DELAY, type WaitOptions } from "./options.js";

/** What a primitive does with a waiter whose timeout ran out (it is already unlinked). */
export type TimeoutHandler<T> = (waiter: Waiter<T>) => void;

/** One parked caller. `data` carries what the primitive needs at grant time (an owner, an item, an index). */
export class Waiter<T> {
  prev: Waiter<T> | null = null;
  next: Waiter<T> | null = null;
  /** True while linked in a queue. */
  linked = false;
  timer: NodeJS.Timeout | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly resolve: (value: T) => void,
    readonly reject: (reason: unknown) => void,
    public data: unknown,
  ) {}

  /** Stops the timer and the abort listener; called once the waiter is settled by any path. */
  disarm(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.onAbort !== undefined) {
      this.signal!.removeEventListener("abort", this.onAbort);
      this.onAbort = undefined;
    }
  }
}

/** FIFO of {@link Waiter}s with O(1) removal. */
export class WaitQueue<T> {
  #head: Waiter<T> | null = null;
  #tail: Waiter<T> | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  isEmpty(): boolean {
    return this.#size === 0;
  }

  peek(): Waiter<T> | null {
    return this.#head;
  }

  push(waiter: Waiter<T>): void {
    waiter.prev = this.#tail;
    waiter.next = null;
    if (this.#tail === null) this.#head = waiter;
    else this.#tail.next = waiter;
    this.#tail = waiter;
    waiter.linked = true;
    this.#size += 1;
  }

  /** Unlinks `waiter`; returns false if it was not linked (already granted or gone). */
  remove(waiter: Waiter<T>): boolean {
    if (!waiter.linked) return false;
    if (waiter.prev === null) this.#head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === null) this.#tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = waiter.next = null;
    waiter.linked = false;
    this.#size -= 1;
    return true;
  }

  /** Unlinks and returns the oldest waiter, or null. */
  shift(): Waiter<T> | null {
    const waiter = this.#head;
    if (waiter !== null) this.remove(waiter);
    return waiter;
  }

  /** Settles an already unlinked waiter with a value. */
  grant(waiter: Waiter<T>, value: T): void {
    waiter.disarm();
    waiter.resolve(value);
  }

  /** Settles an already unlinked waiter with an error. */
  fail(waiter: Waiter<T>, reason: unknown): void {
    waiter.disarm();
    waiter.reject(reason);
  }

  /** Unlinks every waiter and rejects each with `reasonFor(waiter)`. */
  failAll(reasonFor: (waiter: Waiter<T>) => unknown): void {
    for (let waiter = this.shift(); waiter !== null; waiter = this.shift()) this.fail(waiter, reasonFor(waiter));
  }

  /**
   * Parks a caller. Options must be validated and `signal` not yet aborted. On timeout the waiter is unlinked and
   * `onTimeout` decides how it settles; on abort it is unlinked, rejected with the signal's reason, and then
   * `onAborted` (if given) runs.
   */
  wait(
    options: WaitOptions | undefined,
    onTimeout: TimeoutHandler<T>,
    data?: unknown,
    onAborted?: (waiter: Waiter<T>, reason: unknown) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = new Waiter<T>(resolve, reject, data);
      this.push(waiter);
      if (options === undefined) return;
      const { timeout, signal } = options;
      if (timeout !== undefined && timeout !== Infinity) this.#arm(waiter, timeout, onTimeout);
      if (signal !== undefined) {
        waiter.signal = signal;
        waiter.onAbort = () => {
          waiter.onAbort = undefined;
          if (this.remove(waiter)) {
            waiter.disarm();
            reject(signal.reason);
            onAborted?.(waiter, signal.reason);
          }
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
    });
  }

  #arm(waiter: Waiter<T>, timeout: number, onTimeout: TimeoutHandler<T>): void {
    const delay = Math.min(timeout, MAX_TIMER_DELAY);
    waiter.timer = setTimeout(() => {
      waiter.timer = undefined;
      if (timeout > delay) {
        this.#arm(waiter, timeout - delay, onTimeout);
      } else if (this.remove(waiter)) {
        waiter.disarm();
        onTimeout(waiter);
      }
    }, delay);
  }
}

/** Timeout handler that resolves `false`: what acquire() and wait() do. */
export function resolveFalse(waiter: Waiter<boolean>): void {
  waiter.resolve(false);
}
