/**
 * Broker-side state of a Pipe. An end belongs to the first process that uses it; when that process dies the end
 * is closed, so the peer's `recv()` drains what is left and then fails with E_PIPE_CLOSED, as Python's `recv()`
 * raises EOFError once the other process is gone.
 *
 * An end used in the broker's own process reads from an inbox here. An end owned by another process is
 * *attached*: that process posts `attach` before anything else, what waited in the inbox is pushed to it, and
 * from then on every value sent to the end is pushed to its process at once (`{ event: "push", to, v? }`, then
 * `{ event: "push", to, eof: 1 }` once the peer is closed), where its `recv()` reads a local inbox (pipe-end.ts).
 * A value sent by the broker's own process is pushed with `l: 1`, so the receiver knows its peer is there.
 * A round trip parent <-> child is then one frame each way, with no `recv` request, no reply id and no waiting
 * op kept by the broker.
 */
import type { FrameHeader } from "../../wire/index.js";
import { QueueShutDown } from "../../sync/errors.js";
import { Queue } from "../../sync/queue.js";
import { resolveFalse, WaitQueue } from "../../sync/waiters.js";
import { defineKind, type Broker, type BrokerObject, type Session } from "../broker.js";
import { PipeClosedError } from "../errors.js";

/** The key a pushed frame of `end` of pipe `id` is routed by in the owning process. */
export function pushKey(id: number, end: 0 | 1): string {
  return `${id}.${end}`;
}

function toPipeClosed(error: unknown): never {
  throw error instanceof QueueShutDown ? new PipeClosedError() : error;
}

class PipeState implements BrokerObject {
  readonly #inbox = [new Queue(), new Queue()];
  readonly #pollers = [new WaitQueue<boolean>(), new WaitQueue<boolean>()];
  readonly #closed = [false, false];
  readonly #users: (Session | undefined)[] = [undefined, undefined];
  /** The process each end's values are pushed to, once it attached the end. */
  readonly #attached: (Session | undefined)[] = [undefined, undefined];

  constructor(
    readonly duplex: boolean,
    readonly broker: Broker,
    readonly id: number,
  ) {}

  call(session: Session, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    const end = args[0] as 0 | 1;
    if (end !== 0 && end !== 1) throw new TypeError("a pipe end is 0 or 1");
    if (!session.local) this.#users[end] ??= session;
    switch (op) {
      case "attach":
        return this.#attach(session, end);
      case "send":
        return this.#send(end, args[1], session.local);
      case "sendMany":
        for (let i = 1; i < args.length; i++) this.#send(end, args[i], session.local);
        return undefined;
      case "recv":
        this.#checkReader(session, end);
        return this.#recv(end, signal);
      case "poll":
        this.#checkReader(session, end);
        return this.#poll(end, args[1] as number | undefined, signal);
      case "close":
        return this.#close(end);
    }
    throw new TypeError(`Pipe has no operation "${op}"`);
  }

  #attach(session: Session, end: 0 | 1): void {
    if (session.local) throw new TypeError("the broker's own process does not attach pipe ends");
    if (this.#users[end] !== session) throw new PipeClosedError("this pipe end is already used by another process");
    if (this.#attached[end] !== undefined) return;
    this.#attached[end] = session;
    const inbox = this.#inbox[end];
    while (inbox.qsize() > 0) this.#push(end, inbox.getNowait());
    if (inbox.isShutdown && !this.#closed[end]) this.broker.push(session, { event: "push", to: pushKey(this.id, end), eof: 1 });
  }

  #checkReader(session: Session, end: 0 | 1): void {
    const owner = this.#attached[end];
    if (owner !== undefined && owner !== session) throw new PipeClosedError("this pipe end is used by another process");
  }

  /** `fromBroker`: the value was sent by the broker's own process, said to the receiver as `l: 1`. */
  #push(end: 0 | 1, value: unknown, fromBroker = false): void {
    const header: FrameHeader = fromBroker ? { event: "push", to: pushKey(this.id, end), l: 1 } : { event: "push", to: pushKey(this.id, end) };
    this.broker.push(this.#attached[end]!, header, value);
  }

  #send(end: 0 | 1, value: unknown, fromBroker: boolean): void {
    if (this.#closed[end]) throw new PipeClosedError("send() on a closed pipe end");
    if (!this.duplex && end === 0) throw new PipeClosedError("send() on the receiving end of a one-way pipe");
    const other = (1 - end) as 0 | 1;
    if (this.#closed[other]) throw new PipeClosedError("send() to a pipe whose other end is closed");
    if (this.#attached[other] !== undefined) {
      this.#push(other, value, fromBroker);
      return;
    }
    this.#inbox[other].putNowait(value);
    const poller = this.#pollers[other].shift();
    if (poller !== null) this.#pollers[other].grant(poller, true);
  }

  /** A value at once when one waits (no promise to track), else a wait for the next. */
  #recv(end: 0 | 1, signal: AbortSignal | undefined): unknown {
    if (this.#closed[end]) throw new PipeClosedError("recv() on a closed pipe end");
    const inbox = this.#inbox[end];
    if (inbox.qsize() > 0) return inbox.getNowait();
    return inbox.get({ signal }).then(undefined, toPipeClosed);
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
    const other = (1 - end) as 0 | 1;
    this.#inbox[other].shutdown(); // the peer still drains what was sent before
    // An attached peer drains its own inbox: the end of the stream follows the values it was pushed.
    if (this.#attached[other] !== undefined && !this.#closed[other]) {
      this.broker.push(this.#attached[other]!, { event: "push", to: pushKey(this.id, other), eof: 1 });
    }
    for (let p = this.#pollers[other].shift(); p !== null; p = this.#pollers[other].shift()) this.#pollers[other].grant(p, true);
  }

  sessionClosed(session: Session): void {
    for (const end of [0, 1] as const) {
      if (this.#attached[end] === session) this.#attached[end] = undefined;
      if (this.#users[end] === session) this.#close(end);
    }
  }
}

defineKind("Pipe", ([duplex], broker, id) => new PipeState(duplex !== false, broker, id));
