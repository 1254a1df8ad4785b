import type { ConnectionChannel, DatagramSender } from "../../server/index.js";
import { WharfError, encodeEvent } from "../../wire/index.js";
import { chatChannel } from "../shared/channels.js";
import { ChatErrorCode } from "./errors.js";
import type { Room } from "./room.js";

/**
 * An event on its way to one or many members. Its frame is encoded on first use and shared by every stream
 * member after that: a room's fan-out costs one JSON encoding, not one per member.
 */
export class OutgoingEvent {
  readonly event: string;
  readonly fields: Record<string, unknown>;
  readonly body: Uint8Array | undefined;
  #parts: Buffer[] | null = null;

  constructor(event: string, fields: Record<string, unknown>, body?: Uint8Array) {
    this.event = event;
    this.fields = fields;
    this.body = body;
  }

  /** The encoded frame. */
  get parts(): Buffer[] {
    this.#parts ??= encodeEvent(this.event, this.fields, this.body);
    return this.#parts;
  }
}

/**
 * One chat client: a stream connection of a logged-in user, or a datagram sender. Rooms deliver to members
 * without waiting for them: a member either takes the frame at once or is dropped.
 */
export abstract class Member {
  /** The user name shown to others (`~nick` for datagram guests). */
  readonly name: string;
  /** Unique among members: `tcp:<connection id>` or `udp:<address>:<port>`. */
  readonly key: string;
  readonly rooms = new Set<Room>();
  #gone = false;

  constructor(name: string, key: string) {
    this.name = name;
    this.key = key;
  }

  /** True once the member was dropped (its connection closed, it was cut off, or it timed out). */
  get gone(): boolean {
    return this.#gone;
  }

  /** @internal */
  markGone(): void {
    this.#gone = true;
  }

  /** Sends an event frame to the member; false when the member had to be dropped instead. */
  abstract deliver(event: OutgoingEvent): boolean;
}

/** A member on a stream connection. */
export class StreamMember extends Member {
  readonly channel: ConnectionChannel;
  #maxQueuedBytes: number;
  #onSlow: (member: StreamMember) => void;

  constructor(name: string, channel: ConnectionChannel, maxQueuedBytes: number, onSlow: (member: StreamMember) => void) {
    super(name, `tcp:${channel.id}`);
    this.channel = channel;
    this.#maxQueuedBytes = maxQueuedBytes;
    this.#onSlow = onSlow;
  }

  /** Queues the frame, unless the member already has more than the bound unread: then it is cut off. */
  deliver(event: OutgoingEvent): boolean {
    if (this.gone || this.channel.closed) return false;
    const queued = this.channel.bufferedBytes;
    if (queued > this.#maxQueuedBytes) {
      this.channel.close(
        new WharfError(ChatErrorCode.SLOW_CONSUMER, `you did not read your chat messages: ${queued} bytes were waiting (the limit is ${this.#maxQueuedBytes})`, {
          data: { queuedBytes: queued, maxQueuedBytes: this.#maxQueuedBytes },
        }),
      );
      this.#onSlow(this);
      if (chatChannel.hasSubscribers) chatChannel.publish({ event: "slow-consumer" });
      return false;
    }
    this.channel.sendFrame(event.parts);
    if (chatChannel.hasSubscribers) chatChannel.publish({ event: "delivered" });
    return true;
  }
}

/** A member reached by datagrams, sent from the UDP endpoint it joined through. */
export class DatagramMember extends Member {
  readonly address: string;
  readonly port: number;
  readonly sender: DatagramSender;
  /** Server time (ms) a datagram last came from it; it is dropped when this gets too old. */
  lastHeard: number;

  constructor(name: string, address: string, port: number, sender: DatagramSender, now: number) {
    super(name, `udp:${address}:${port}`);
    this.address = address;
    this.port = port;
    this.sender = sender;
    this.lastHeard = now;
  }

  /** Sends one datagram; UDP gives no backpressure, so nothing queues here (the kernel drops what it must). */
  deliver(event: OutgoingEvent): boolean {
    if (this.gone) return false;
    return this.sender.sendDatagram({ ...event.fields, event: event.event }, event.body, this.address, this.port);
  }
}
