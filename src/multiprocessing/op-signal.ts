/**
 * The abort signal the broker hands a waiting operation of another process. Most such operations never wait
 * (a free lock is granted at once) and almost none is cancelled, yet an `AbortController` costs about 6 us to
 * make on the 2-core CI machine (the largest single item of a broker round trip in a CPU profile): this one is a
 * plain object with the part of `AbortSignal` the wait queues use (`aborted`, `reason`, `throwIfAborted`, one
 * "abort" listener list). It passes `instanceof AbortSignal`, so the in-loop primitives of `wharf/sync` accept
 * it; nothing outside the broker ever sees one.
 */

type Listener = () => void;

/** A cheap, broker-internal stand-in for an `AbortController` and its signal in one object. */
export class OpSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Listener[] | undefined;

  /** Registers an "abort" listener (other event types never fire and are ignored). */
  addEventListener(type: string, listener: Listener): void {
    if (type !== "abort" || this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    if (type !== "abort" || this.#listeners === undefined) return;
    const i = this.#listeners.indexOf(listener);
    if (i >= 0) this.#listeners.splice(i, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** Aborts once with `reason`, calling each listener once. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }

  /** This object, typed as what the wait queues take. */
  get signal(): AbortSignal {
    return this as unknown as AbortSignal;
  }
}

// Only for `instanceof AbortSignal` checks of wait options: every member used is OpSignal's own.
Object.setPrototypeOf(OpSignal.prototype, AbortSignal.prototype);
