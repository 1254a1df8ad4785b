import type { HistoryLog } from "./history-log.js";
import { OutgoingEvent, type Member } from "./member.js";
import { eventFields, type ChatMessage } from "./messages.js";

/**
 * A room: its members and its sequencer. `publish` numbers a message (msgId = previous + 1), keeps it in the
 * in-memory history, queues it for the history file, and hands it to every member, all synchronously, so every
 * member receives the room's messages in msgId order and no member can hold the others back.
 */
export class Room {
  readonly name: string;
  readonly members = new Set<Member>();
  /** The newest msgId (0: none yet). */
  lastMsgId = 0;
  #history: ChatMessage[] = [];
  #keep: number;
  #log: HistoryLog | null;
  #loaded = false;
  readonly ready: Promise<void>;

  constructor(name: string, keep: number, log: HistoryLog | null, onLoaded: (messages: ChatMessage[]) => void) {
    this.name = name;
    this.#keep = keep;
    this.#log = log;
    this.ready = (log === null ? Promise.resolve([]) : log.load(name)).then((messages) => {
      this.#history = messages;
      this.lastMsgId = messages.at(-1)?.msgId ?? 0;
      this.#loaded = true;
      onLoaded(messages);
    });
  }

  /** True once the history is read: from then on everything is synchronous. */
  get loaded(): boolean {
    return this.#loaded;
  }

  get log(): HistoryLog | null {
    return this.#log;
  }

  /** The kept messages, oldest first. */
  get history(): readonly ChatMessage[] {
    return this.#history;
  }

  /** Distinct user names of the members, sorted. */
  who(): string[] {
    return [...new Set([...this.members].map((m) => m.name))].sort();
  }

  /** True when a member other than `except` has this user name. */
  hasUser(name: string, except?: Member): boolean {
    for (const member of this.members) if (member !== except && member.name === name) return true;
    return false;
  }

  /** Numbers, keeps and delivers a message. Only once loaded. */
  publish(draft: Omit<ChatMessage, "msgId" | "room">, extra?: Record<string, unknown>): ChatMessage {
    const message: ChatMessage = { ...draft, room: this.name, msgId: this.lastMsgId + 1 };
    this.lastMsgId = message.msgId;
    if (this.#keep > 0) {
      this.#history.push(message);
      // Trim in batches: one splice per `keep` messages instead of a shift per message.
      if (this.#history.length >= 2 * this.#keep) this.#history = this.#history.slice(-this.#keep);
      this.#log?.append(message);
    }
    const fields = extra === undefined ? eventFields(message) : { ...eventFields(message), ...extra };
    const event = new OutgoingEvent("chat.message", fields, message.body);
    for (const member of this.members) member.deliver(event);
    return message;
  }

  /** Kept messages with since < msgId < before, oldest first (the last `keep` at most). */
  range(since = 0, before = Number.MAX_SAFE_INTEGER): ChatMessage[] {
    const kept = this.#history.length > this.#keep ? this.#history.slice(-this.#keep) : this.#history;
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (kept[mid].msgId <= since) low = mid + 1;
      else high = mid;
    }
    const start = low;
    const out: ChatMessage[] = [];
    for (let i = start; i < kept.length && kept[i].msgId < before; i += 1) out.push(kept[i]);
    return out;
  }

  /** The msgId of the oldest kept message, or null when none is kept. */
  firstKept(): number | null {
    const kept = this.#history;
    return kept.length === 0 ? null : kept[Math.max(0, kept.length - this.#keep)].msgId;
  }

  /** The newest messages, at most `keep`, oldest first: what a compacted history file holds. */
  latest(): ChatMessage[] {
    return this.#history.slice(-this.#keep);
  }
}
