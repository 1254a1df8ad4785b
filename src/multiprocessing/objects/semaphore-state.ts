/**
 * Broker-side state of Semaphore and BoundedSemaphore. Permits are counted per session, so that the permits a
 * dead process took and never gave back return to the others (the semaphore counts a resource, as in the
 * course's five-stall washroom).
 */
import { TooManyReleasesError } from "../../sync/errors.js";
import { resolveFalse, WaitQueue } from "../../sync/waiters.js";
import { defineKind, type BrokerObject, type Session } from "../broker.js";

class SemaphoreState implements BrokerObject {
  #value: number;
  readonly #bound: number | undefined;
  readonly #held = new Map<Session, number>();
  readonly #waiters = new WaitQueue<boolean>();

  constructor(value: number, bounded: boolean) {
    this.#value = value;
    this.#bound = bounded ? value : undefined;
  }

  call(session: Session, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    switch (op) {
      case "acquire":
        return this.#acquire(session, args[0] as number | undefined, signal);
      case "release":
        return this.#release(session, args[0] as number);
      case "value":
        return this.#value;
    }
    throw new TypeError(`Semaphore has no operation "${op}"`);
  }

  #acquire(session: Session, timeout: number | undefined, signal: AbortSignal | undefined): boolean | Promise<boolean> {
    if (session.closed.aborted) return false;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // FIFO: a free permit goes to a newcomer only when nobody waits.
    if (this.#value > 0 && this.#waiters.isEmpty()) {
      this.#value -= 1;
      this.#take(session);
      return true;
    }
    if (timeout === 0) return false;
    return this.#waiters.wait({ timeout, signal }, resolveFalse, session);
  }

  #take(session: Session): void {
    if (!session.local) this.#held.set(session, (this.#held.get(session) ?? 0) + 1);
  }

  #release(session: Session, n: number): void {
    if (this.#bound !== undefined && this.#value + n > this.#bound) {
      throw new TooManyReleasesError("BoundedSemaphore released too many times");
    }
    const held = this.#held.get(session);
    if (held !== undefined) {
      if (held <= n) this.#held.delete(session);
      else this.#held.set(session, held - n);
    }
    this.#give(n);
  }

  #give(n: number): void {
    for (let i = 0; i < n; i++) {
      const next = this.#waiters.shift();
      if (next === null) this.#value += 1;
      else {
        this.#take(next.data as Session);
        this.#waiters.grant(next, true);
      }
    }
  }

  sessionClosed(session: Session): void {
    const held = this.#held.get(session);
    if (held === undefined) return;
    this.#held.delete(session);
    this.#give(held);
  }
}

defineKind("Semaphore", ([value]) => new SemaphoreState(value as number, false));
defineKind("BoundedSemaphore", ([value]) => new SemaphoreState(value as number, true));
