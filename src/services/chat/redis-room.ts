import { OutgoingEvent, type Member } from "./member.js";
import { Room } from "./room.js";

/** A room's message as shared chat carries it (pub/sub and stream entries). */
export interface SharedMessage {
  msgId: number;
  ts: number;
  from: string;
  text: string;
  /** Extra event fields (a datagram sender's seq). */
  extra?: Record<string, unknown>;
}

interface Hold {
  /** Live messages that came while the member's join was being answered. */
  queued: SharedMessage[];
}

/**
 * One node's view of a shared room: its local members, and the highest msgId delivered to them. Messages come
 * from Redis pub/sub in msgId order; a jump (a message lost with a dropped subscription, say) is filled from the
 * room's stream before anything newer is delivered, so local members see every msgId once, in order. A member
 * whose join is being answered (its replay still on the way) is held: live messages queue for it and are
 * delivered after the replay, without repeats.
 */
export class SharedRoom extends Room {
  /** The highest msgId delivered to this node's members. */
  last = 0;
  #fetch: (after: number) => Promise<SharedMessage[]>;
  #fetching = false;
  /** A catch-up was asked for while one was under way. */
  #again = false;
  #queued: SharedMessage[] = [];
  #holds = new Map<Member, Hold>();
  /** Members that must not get messages up to this msgId (they were replayed to them). */
  #floors = new Map<Member, number>();
  #onError: (err: unknown) => void;

  constructor(name: string, fetch: (after: number) => Promise<SharedMessage[]>, onError: (err: unknown) => void) {
    super(name, 0, null, () => {});
    this.#fetch = fetch;
    this.#onError = onError;
  }

  /** Starts the room at a msgId (what Redis numbered last when this node subscribed). */
  start(lastMsgId: number): void {
    this.last = lastMsgId;
    this.lastMsgId = lastMsgId;
  }

  /** A message from pub/sub. */
  onLive(message: SharedMessage): void {
    if (this.#fetching) {
      this.#queued.push(message);
      return;
    }
    if (message.msgId <= this.last) return;
    if (message.msgId === this.last + 1 && this.#queued.length === 0) {
      this.#deliver(message);
      return;
    }
    this.#queued.push(message);
    void this.catchUp();
  }

  /**
   * Delivers what the room's stream holds after the last msgId delivered here, then what queued meanwhile.
   * Safe to call at any time (after a resubscription, or when Redis says the room is ahead); a call while one is
   * under way runs again after it. When the stream cannot be read (Redis still coming back), only the queued
   * messages that follow on without a gap are delivered: the rest wait for the next catch-up (the node's audit
   * asks again while Redis is ahead), so a message lost with a dropped subscription is never skipped.
   */
  async catchUp(): Promise<void> {
    if (this.#fetching) {
      this.#again = true;
      return;
    }
    this.#fetching = true;
    let read = false;
    try {
      for (const message of await this.#fetch(this.last)) this.#deliver(message);
      read = true;
    } catch (err) {
      this.#onError(err);
    } finally {
      this.#fetching = false;
      const queued = this.#queued.sort((a, b) => a.msgId - b.msgId);
      this.#queued = [];
      for (const message of queued) {
        // After a read, what the stream did not hold any more (trimmed) is skipped: nothing else can fill it.
        if (read || message.msgId <= this.last + 1) this.#deliver(message);
        else this.#queued.push(message);
      }
    }
    if (this.#again) {
      this.#again = false;
      await this.catchUp();
    }
  }

  /** Holds a member's live messages until {@link release}. */
  hold(member: Member): void {
    if (!this.#holds.has(member)) this.#holds.set(member, { queued: [] });
  }

  /** Ends a hold: delivers the queued messages after `floor`, and keeps the member from any up to `floor`. */
  release(member: Member, floor: number): void {
    const hold = this.#holds.get(member);
    this.#holds.delete(member);
    if (floor > this.last) this.#floors.set(member, floor);
    for (const message of hold?.queued ?? []) {
      if (message.msgId > floor) member.deliver(eventOf(this.name, message));
    }
  }

  /** Forgets a member's hold and floor (it left). */
  forget(member: Member): void {
    this.#holds.delete(member);
    this.#floors.delete(member);
  }

  #deliver(message: SharedMessage): void {
    if (message.msgId <= this.last) return;
    this.last = message.msgId;
    if (message.msgId > this.lastMsgId) this.lastMsgId = message.msgId;
    const event = eventOf(this.name, message);
    for (const member of this.members) {
      const hold = this.#holds.get(member);
      if (hold !== undefined) {
        hold.queued.push(message);
        continue;
      }
      const floor = this.#floors.get(member);
      if (floor !== undefined) {
        if (message.msgId >= floor) this.#floors.delete(member);
        if (message.msgId <= floor) continue;
      }
      member.deliver(event);
    }
  }
}

/** The `chat.message` event of a shared message. */
export function eventOf(room: string, message: SharedMessage): OutgoingEvent {
  return new OutgoingEvent(
    "chat.message",
    { room, from: message.from, msgId: message.msgId, ts: message.ts, ...message.extra },
    Buffer.from(message.text, "utf8"),
  );
}
