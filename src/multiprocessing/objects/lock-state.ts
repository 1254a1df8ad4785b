/**
 * Broker-side state of Lock and RLock, and the Condition built on them. The holder is a session (a process), so
 * the broker can give a lock back when its holder's process dies: the lock passes to the next waiter, FIFO, as
 * an ordinary release would.
 */
import { NotHeldError, NotOwnerError } from "../../sync/errors.js";
import { resolveFalse, WaitQueue } from "../../sync/waiters.js";
import { defineKind, type BrokerObject, type Session } from "../broker.js";

/** The state of a Lock (`reentrant` false) or an RLock (true). */
export class LockState implements BrokerObject {
  holder: Session | undefined;
  count = 0;
  readonly waiters = new WaitQueue<boolean>();

  constructor(readonly reentrant: boolean) {}

  call(session: Session, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    switch (op) {
      case "acquire":
        return this.acquire(session, args[0] as number | undefined, signal);
      case "release":
        return this.release(session);
      case "locked":
        return this.holder !== undefined;
      case "owned":
        return this.holder === session;
      case "waiting":
        return this.waiters.size;
      case "count":
        return this.holder === session ? this.count : 0;
    }
    throw new TypeError(`Lock has no operation "${op}"`);
  }

  acquire(session: Session, timeout: number | undefined, signal: AbortSignal | undefined): boolean | Promise<boolean> {
    if (session.closed.aborted) return false;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.holder === undefined) {
      this.holder = session;
      this.count = 1;
      return true;
    }
    if (this.reentrant && this.holder === session) {
      this.count += 1;
      return true;
    }
    if (timeout === 0) return false;
    return this.waiters.wait({ timeout, signal }, resolveFalse, session);
  }

  release(session: Session): void {
    if (this.holder === undefined) throw new NotHeldError(`${this.reentrant ? "RLock" : "Lock"}.release() called on an unlocked lock`);
    // Python's multiprocessing.Lock may be released by any process; an RLock only by its owner.
    if (this.reentrant && this.holder !== session) throw new NotOwnerError("RLock.release() by a process that does not own it");
    this.count -= 1;
    if (this.count === 0) this.#handOff();
  }

  /** Releases whatever `session` holds and returns its count, for Condition.wait(). */
  releaseSave(): number {
    const saved = this.count;
    this.count = 0;
    this.#handOff();
    return saved;
  }

  sessionClosed(session: Session): void {
    if (this.holder !== session) return;
    this.count = 0;
    this.#handOff();
  }

  #handOff(): void {
    const next = this.waiters.shift();
    if (next === null) {
      this.holder = undefined;
      return;
    }
    this.holder = next.data as Session;
    this.count = 1;
    this.waiters.grant(next, true);
  }
}

/** The state of a Condition: its lock's state and the parked waiters. */
export class ConditionState implements BrokerObject {
  readonly waiters = new WaitQueue<boolean>();

  constructor(readonly lock: LockState) {}

  call(session: Session, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    switch (op) {
      case "wait":
        return this.wait(session, args[0] as number | undefined, signal);
      case "notify":
        return this.notify(session, args[0] as number);
      case "lockOp":
        return this.lock.call(session, args[0] as string, args.slice(1), signal);
    }
    throw new TypeError(`Condition has no operation "${op}"`);
  }

  async wait(session: Session, timeout: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.lock.holder !== session) throw new NotHeldError("Condition.wait() without holding its lock");
    const saved = this.lock.releaseSave();
    try {
      return await this.waiters.wait({ timeout, signal }, resolveFalse);
    } finally {
      // Take the lock back before returning, as Python does; a session that died meanwhile does not.
      if (!session.closed.aborted) {
        await this.lock.acquire(session, undefined, session.closed);
        this.lock.count = saved;
      }
    }
  }

  notify(session: Session, n: number): void {
    if (this.lock.holder !== session) throw new NotHeldError("Condition.notify() without holding its lock");
    for (let i = 0; i < n; i++) {
      const waiter = this.waiters.shift();
      if (waiter === null) break;
      this.waiters.grant(waiter, true);
    }
  }
}

defineKind("Lock", () => new LockState(false));
defineKind("RLock", () => new LockState(true));
defineKind("Condition", ([lockId], broker) => {
  if (lockId === undefined) return new ConditionState(new LockState(true));
  const lock = broker.objects.get(lockId as number);
  if (!(lock instanceof LockState)) throw new TypeError("a Condition's lock must be a Lock or RLock of the same broker");
  return new ConditionState(lock);
});
