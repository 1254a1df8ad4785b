import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Connection } from "../../client/index.js";
import type { ReplyHeader } from "../../wire/index.js";

/** A message as a client receives it. */
export interface ReceivedMessage {
  /** Set for a room's message. */
  room?: string;
  /** Set for a direct message: its recipient. */
  to?: string;
  from: string;
  msgId: number;
  /** Server time, ms since the Unix epoch. */
  ts: number;
  text: string;
  /** True when replayed at a join with `since` (a message missed while away). */
  replay?: boolean;
  /** The datagram sender's sequence number, when the sender used UDP. */
  seq?: number;
  /** UDP receivers: arrived after later messages (it was reported in a gap). */
  late?: boolean;
  /** UDP receivers: lost in a gap, then fetched from the room's history. */
  recovered?: boolean;
}

/** Someone joined or left a room. */
export interface PresenceEvent {
  room: string;
  user: string;
  action: "join" | "leave";
}

/** A message of `chat.history`. */
export interface HistoryMessage {
  msgId: number;
  ts: number;
  from: string;
  text: string;
}

/** Turns a `chat.message` event frame into a message, or null when it is something else. */
export function toReceived(header: Record<string, unknown>, body: Buffer): ReceivedMessage | null {
  if (header.event !== "chat.message" || typeof header.msgId !== "number" || typeof header.from !== "string") return null;
  const message: ReceivedMessage = { from: header.from, msgId: header.msgId, ts: Number(header.ts), text: body.toString("utf8") };
  if (typeof header.room === "string") message.room = header.room;
  if (typeof header.to === "string") message.to = header.to;
  if (header.replay === true) message.replay = true;
  if (typeof header.seq === "number") message.seq = header.seq;
  return message;
}

/** Parses the JSON-lines body of a `chat.history` reply. */
export function parseHistory(body: Buffer): HistoryMessage[] {
  return body
    .toString("utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as HistoryMessage);
}

/**
 * A chat client over a logged-in stream connection. Emits `"message"` (ReceivedMessage), `"presence"`
 * (PresenceEvent), `"reconnect"` (`{ reason }`: the server is draining and asks clients to move) and `"close"`
 * (error?). Remembers the last msgId seen per room, so {@link rejoin} on a new
 * connection asks for exactly what was missed. Sends carry a clientId, so {@link send} may be retried safely.
 *
 * @example
 * ```ts
 * const conn = await connect("tcp://127.0.0.1:9000");
 * await login(conn, "alice", password);
 * const chat = new ChatClient(conn);
 * chat.on("message", (m) => console.log(`${m.from}: ${m.text}`));
 * await chat.join("lobby");
 * await chat.send("lobby", "hello");
 * ```
 */
export class ChatClient extends EventEmitter {
  readonly conn: Connection;
  /** The highest msgId seen per room. */
  readonly lastSeen = new Map<string, number>();
  #prefix = randomBytes(6).toString("base64url");
  #counter = 0;
  #timeout: number;

  constructor(conn: Connection, options: { timeout?: number } = {}) {
    super();
    this.conn = conn;
    this.#timeout = options.timeout ?? 30_000;
    conn.on("event", (header: ReplyHeader, body: Buffer) => this.#onEvent(header, body));
    conn.on("close", (err?: Error) => this.emit("close", err));
  }

  /** A fresh clientId for a send. */
  nextClientId(): string {
    this.#counter += 1;
    return `${this.#prefix}-${this.#counter}`;
  }

  /** Joins a room; with `since`, the messages after it are replayed first (as events marked `replay`). */
  async join(room: string, options: { since?: number } = {}): Promise<{ lastMsgId: number; memberCount: number; replayed?: number; truncated?: boolean }> {
    const fields: Record<string, unknown> = { room };
    if (options.since !== undefined) fields.since = options.since;
    const { header } = await this.conn.request("chat.join", fields, undefined, { timeout: this.#timeout });
    if (!this.lastSeen.has(room)) this.lastSeen.set(room, options.since ?? Number(header.lastMsgId));
    return header as never;
  }

  /** Joins again every room this client was in, asking for what it missed (after a reconnect). */
  async rejoin(rooms: Iterable<[string, number]>): Promise<void> {
    for (const [room, since] of rooms) {
      this.lastSeen.set(room, since);
      await this.join(room, { since });
    }
  }

  async leave(room: string): Promise<boolean> {
    const { header } = await this.conn.request("chat.leave", { room }, undefined, { timeout: this.#timeout });
    this.lastSeen.delete(room);
    return header.left === true;
  }

  /** Sends to a room; retrying with the same `clientId` never delivers twice. */
  async send(room: string, text: string, clientId = this.nextClientId()): Promise<{ msgId: number; ts: number; duplicate: boolean }> {
    return this.#send({ room, clientId }, text);
  }

  /** Sends to one user (all of that user's chat clients, and your own). */
  async sendTo(user: string, text: string, clientId = this.nextClientId()): Promise<{ msgId: number; ts: number; duplicate: boolean }> {
    return this.#send({ to: user, clientId }, text);
  }

  async who(room: string): Promise<string[]> {
    const { body } = await this.conn.request("chat.who", { room }, undefined, { timeout: this.#timeout });
    return JSON.parse(body.toString("utf8")) as string[];
  }

  async rooms(): Promise<{ room: string; members: number; lastMsgId?: number }[]> {
    const { body } = await this.conn.request("chat.rooms", {}, undefined, { timeout: this.#timeout });
    return JSON.parse(body.toString("utf8")) as never;
  }

  /** Kept messages of a room after `since` (and before `before`), oldest first. */
  async history(room: string, options: { since?: number; before?: number; limit?: number } = {}): Promise<{ messages: HistoryMessage[]; more: boolean; lastMsgId: number }> {
    const { header, body } = await this.conn.request("chat.history", { room, ...options }, undefined, { timeout: this.#timeout });
    return { messages: parseHistory(body), more: Number(header.remaining) > 0, lastMsgId: Number(header.lastMsgId) };
  }

  async #send(fields: Record<string, unknown>, text: string): Promise<{ msgId: number; ts: number; duplicate: boolean }> {
    const { header } = await this.conn.request("chat.send", fields, Buffer.from(text, "utf8"), { timeout: this.#timeout });
    return { msgId: Number(header.msgId), ts: Number(header.ts), duplicate: header.duplicate === true };
  }

  #onEvent(header: Record<string, unknown>, body: Buffer): void {
    if (header.event === "chat.reconnect") {
      // The server is draining: reconnect (through the balancer, to another node) and rejoin with lastSeen.
      this.emit("reconnect", { reason: typeof header.reason === "string" ? header.reason : "draining" });
      return;
    }
    if (header.event === "chat.presence") {
      this.emit("presence", { room: header.room, user: header.user, action: header.action } as PresenceEvent);
      return;
    }
    const message = toReceived(header, body);
    if (message === null) return;
    if (message.room !== undefined) {
      if (message.msgId <= (this.lastSeen.get(message.room) ?? 0) && this.lastSeen.has(message.room)) return; // already seen
      this.lastSeen.set(message.room, message.msgId);
    }
    this.emit("message", message);
  }
}
