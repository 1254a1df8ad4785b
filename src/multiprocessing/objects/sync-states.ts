/**
 * Broker-side state of Event, Barrier, Queue and JoinableQueue: the in-loop primitives of `wharf/sync`, driven
 * by the sessions' requests. A waiting op of a session that closes is aborted, which leaves the line (Queue,
 * Event) or breaks the barrier for the others (Barrier, as in Python when a party gives up).
 */
import { Barrier } from "../../sync/barrier.js";
import { Event } from "../../sync/event.js";
import { Queue } from "../../sync/queue.js";
import { defineKind, type BrokerObject } from "../broker.js";

type Timeout = number | undefined;

class EventState implements BrokerObject {
  readonly #event = new Event();

  call(_session: unknown, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    switch (op) {
      case "set":
        return this.#event.set();
      case "clear":
        return this.#event.clear();
      case "isSet":
        return this.#event.isSet();
      case "wait":
        return this.#event.wait({ timeout: args[0] as Timeout, signal });
    }
    throw new TypeError(`Event has no operation "${op}"`);
  }
}

class BarrierState implements BrokerObject {
  readonly #barrier: Barrier;

  constructor(parties: number, timeout: Timeout) {
    this.#barrier = new Barrier(parties, { timeout });
  }

  call(_session: unknown, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    switch (op) {
      case "wait":
        return this.#barrier.wait({ timeout: args[0] as Timeout, signal });
      case "abort":
        return this.#barrier.abort();
      case "reset":
        return this.#barrier.reset();
      case "state":
        return { parties: this.#barrier.parties, nWaiting: this.#barrier.nWaiting, broken: this.#barrier.broken };
    }
    throw new TypeError(`Barrier has no operation "${op}"`);
  }
}

class QueueState implements BrokerObject {
  readonly #queue: Queue;

  constructor(maxsize: number) {
    this.#queue = new Queue({ maxsize });
  }

  call(_session: unknown, op: string, args: unknown[], signal: AbortSignal | undefined): unknown {
    const q = this.#queue;
    switch (op) {
      case "put":
        return q.put(args[0], { timeout: args[1] as Timeout, signal });
      case "putMany":
        for (const item of args) q.putNowait(item);
        return undefined;
      case "get":
        return q.get({ timeout: args[0] as Timeout, signal });
      case "state":
        return { qsize: q.qsize(), maxsize: q.maxsize, unfinished: q.unfinishedTasks, shutdown: q.isShutdown };
      case "taskDone":
        return q.taskDone();
      case "join":
        return q.join({ timeout: args[0] as Timeout, signal });
      case "shutdown":
        return q.shutdown(args[0] === true);
    }
    throw new TypeError(`Queue has no operation "${op}"`);
  }
}

defineKind("Event", () => new EventState());
defineKind("Barrier", ([parties, timeout]) => new BarrierState(parties as number, timeout as Timeout));
defineKind("Queue", ([maxsize]) => new QueueState(maxsize as number));
defineKind("JoinableQueue", ([maxsize]) => new QueueState(maxsize as number));
