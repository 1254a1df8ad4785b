import type { WharfError } from "../../wire/index.js";
import type { IpcBatcher, PrimaryItem } from "./cluster-messages.js";
import { Member, type OutgoingEvent } from "./member.js";
import type { MemberChannel } from "./origin.js";

/**
 * A stream connection held by a cluster worker, as the primary sees it: events for it are queued on the
 * worker's batch (one item per fan-out, naming every connection of that worker), and the worker writes them.
 * The slow-consumer bound is checked by the worker, which holds the socket.
 */
export class RemoteChannel implements MemberChannel {
  /** Unique in the primary (connection ids repeat across workers). */
  readonly id: number;
  /** The connection's id in its worker. */
  readonly conn: number;
  readonly out: IpcBatcher<PrimaryItem>;
  #closed = false;
  #listeners: (() => void)[] = [];

  constructor(id: number, conn: number, out: IpcBatcher<PrimaryItem>) {
    this.id = id;
    this.conn = conn;
    this.out = out;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues an event for this connection, joining the previous item when it is the same event (a fan-out). */
  deliver(event: OutgoingEvent): void {
    const last = this.out.last();
    if (last !== undefined && last.k === "event" && eventOf.get(last) === event) {
      last.conns.push(this.conn);
      return;
    }
    const text = event.body === undefined ? undefined : Buffer.from(event.body).toString("utf8");
    const item: PrimaryItem = { k: "event", event: event.event, fields: event.fields, text, conns: [this.conn] };
    eventOf.set(item, event);
    this.out.push(item);
  }

  /** Asks the worker to close the connection with a fatal error frame; the member is dropped at once. */
  close(error: WharfError): void {
    if (this.#closed) return;
    this.out.push({ k: "close", conn: this.conn, error: error.toWire() });
    this.markClosed();
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#listeners.push(listener);
  }

  /** The worker said the connection closed (or the worker is gone). */
  markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#listeners.splice(0)) listener();
  }
}

/** Which event a queued item carries, so that a fan-out extends one item instead of adding one per member. */
const eventOf = new WeakMap<PrimaryItem, OutgoingEvent>();

/** A member on a connection of a cluster worker. */
export class RemoteMember extends Member {
  readonly channel: RemoteChannel;

  constructor(name: string, channel: RemoteChannel) {
    super(name, `tcp:w${channel.id}`);
    this.channel = channel;
  }

  deliver(event: OutgoingEvent): boolean {
    if (this.gone || this.channel.closed) return false;
    this.channel.deliver(event);
    return true;
  }
}
