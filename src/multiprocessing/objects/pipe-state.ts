/**
 * Broker-side state of a Pipe: one inbox per end. An end belongs to the first session that uses it; when that
 * process dies the end is closed, so the peer's `recv()` drains what is left and then fails with E_PIPE_CLOSED,
 * as Python's `recv()` raises EOFError once the other process is gone.
 */
import { QueueShutDown } from "../../sync/errors.js";
import { Queue } from "../../sync/queue.js";
import { resolveFalse, WaitQueue } from "../../sync/waiters.js";
import { defineKind, type BrokerObject, type Session } from "../broker.js";
import { PipeClosedError } from "../errors.js";

class PipeState implements BrokerObject {
  readonly #inbox = [new Queue(), new Queue()];
  readonly #pollers = [new WaitQueue<boolean>(), new WaitQueue<boolean>()];
  readonly #closed = [false, false];
  readonly #users: (Session | undefined)[] = [undefined, undefined];

  constructor(readonly duplex: boolean) {}

  call(session: Session, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    const end = args[0] as 0 | 1;
    if (!session.local) this.#users[end] ??= session;
    switch (op) {
      case "send":
        return this.#send(end, args[1]);
      case "sendMany":
        for (let i = 1; i < args.length; i++) this.#send(end, args[i]);
        return undefined;
      case "recv":
        return this.#recv(end, signal);
      case "poll":
        return this.#poll(end, args[1] as number | undefined, signal);
      case "close":
        return this.#close(end);
    }
    throw new TypeError(`Pipe has no operation "${op}"`);
  }

  #send(end: 0 | 1, value: unknown): void {
    if (this.#closed[end]) throw new PipeClosedError("send() on a closed pipe end");
    if (!this.duplex && end === 0) throw new PipeClosedError("send() on the receiving end of a one-way pipe");
    const other = 1 - end;
    if (this.#closed[other]) throw new PipeClosedError("send() to a pipe whose other end is closed");
    this.#inbox[other].putNowait(value);
    const poller = this.#pollers[other].shift();
    if (poller !== null) this.#pollers[other].grant(poller, true);
  }

  async #recv(end: 0 | 1, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.#closed[end]) throw new PipeClosedError("recv() on a closed pipe end");
    try {
      return await this.#inbox[end].get({ signal });
    } catch (error) {
      if (error instanceof QueueShutDown) throw new PipeClosedError();
      throw error;
    }
  }

  #poll(end: 0 | 1, timeout: number | undefined, signal: AbortSignal | undefined): boolean | Promise<boolean> {
    const inbox = this.#inbox[end];
    if (inbox.qsize() > 0 || inbox.isShutdown) return true;
    if (timeout === 0) return false;
    return this.#pollers[end].wait({ timeout, signal }, resolveFalse);
  }

  #close(end: 0 | 1): void {
    if (this.#closed[end]) return;
    this.#closed[end] = true;
    this.#inbox[end].shutdown(true);
    const other = 1 - end;
    this.#inbox[other].shutdown(); // the peer still drains what was sent before
    for (let p = this.#pollers[other].shift(); p !== null; p = this.#pollers[other].shift()) this.#pollers[other].grant(p, true);
  }

  sessionClosed(session: Session): void {
    for (const end of [0, 1] as const) if (this.#users[end] === session) this.#close(end);
  }
}

defineKind("Pipe", ([duplex]) => new PipeState(duplex !== false));
