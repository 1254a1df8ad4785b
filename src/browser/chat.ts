import { ErrorCode } from "../errors/codes.js";
import { WharfError } from "../errors/wharf-error.js";
import type { BrowserConnection } from "./connection.js";
import type { EventHeader } from "./types.js";

/** A room's message as it arrives (`chat.message`). */
export interface ChatMessage {
  room?: string;
  /** Set for a direct message: its recipient. */
  to?: string;
  from: string;
  msgId: number;
  /** Server time, ms since the epoch. */
  ts: number;
  text: string;
  /** Replayed at a join with `since` (missed while away). */
  replay?: boolean;
}

/** Someone joined or left a room (`chat.presence`). */
export interface PresenceEvent {
  room: string;
  user: string;
  action: "join" | "leave";
}

/** A kept message of `chat.history`. */
export interface HistoryMessage {
  msgId: number;
  ts: number;
  from: string;
  text: string;
}

/** Where a reconnecting chat is: connected, waiting to reconnect, or closed for good. */
export type ChatState = "connected" | "reconnecting" | "closed";

/** Options of {@link ChatClient.reconnecting}. */
export interface ReconnectOptions {
  /** First wait before reconnecting, ms (doubling up to `maxDelay`). Default 500. */
  delay?: number;
  /** Longest wait between attempts, ms. Default 10,000. */
  maxDelay?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function randomPrefix(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Chat from a browser over a logged-in connection: the request types of `wharf chat` (`chat.join`, `chat.send`,
 * `chat.leave`, `chat.history`, `chat.who`) and its events. Remembers the last msgId seen per room and drops a
 * message seen before, so nothing shows twice. Sends carry a clientId, so a send retried after a reconnect is
 * delivered once. {@link ChatClient.reconnecting} makes one that reconnects by itself and rejoins each room from
 * the last message seen, so nothing is lost either.
 *
 * @example
 * ```ts
 * const chat = ChatClient.reconnecting(async () => {
 *   const conn = await connect(location.origin);
 *   await login(conn, { token });
 *   return conn;
 * });
 * chat.onMessage((m) => show(m.from, m.text));
 * await chat.join("lobby");
 * await chat.send("lobby", "hello");
 * ```
 */
export class ChatClient {
  /** The highest msgId seen per joined room. */
  readonly lastSeen = new Map<string, number>();
  #conn: BrowserConnection | null = null;
  #open: (() => Promise<BrowserConnection>) | null = null;
  #reconnect: Required<ReconnectOptions> = { delay: 500, maxDelay: 10_000 };
  #detach: (() => void)[] = [];
  #messageListeners = new Set<(message: ChatMessage) => void>();
  #presenceListeners = new Set<(event: PresenceEvent) => void>();
  #stateListeners = new Set<(state: ChatState) => void>();
  #ready: Promise<BrowserConnection> | null = null;
  #closed = false;
  #prefix = randomPrefix();
  #counter = 0;
  #timeout = 30_000;

  /**
   * A chat over one connection (no reconnect: when it closes, requests fail with its reason), or, given a
   * function that opens a logged-in connection, a reconnecting one (see {@link ChatClient.reconnecting}).
   */
  constructor(conn: BrowserConnection | (() => Promise<BrowserConnection>), options: ReconnectOptions & { timeout?: number } = {}) {
    this.#timeout = options.timeout ?? 30_000;
    if (typeof conn === "function") {
      this.#open = conn;
      this.#reconnect = { delay: options.delay ?? 500, maxDelay: options.maxDelay ?? 10_000 };
      this.#ready = this.#connectLoop(false);
    } else {
      this.#attach(conn);
      this.#ready = Promise.resolve(conn);
    }
    this.#ready.catch(() => {});
  }

  /**
   * A chat that reconnects by itself: `open` makes a new logged-in connection (it is called at once, and again
   * after each loss, with a growing delay), and every room is rejoined with `since` = its last msgId seen, so
   * the server replays exactly what was missed. Requests made while it reconnects wait for the new connection.
   */
  static reconnecting(open: () => Promise<BrowserConnection>, options: ReconnectOptions & { timeout?: number } = {}): ChatClient {
    return new ChatClient(open, options);
  }

  /** The current connection, or null while reconnecting. */
  get connection(): BrowserConnection | null {
    return this.#conn;
  }

  /** Messages of joined rooms (and direct messages), each once, in order. Returns the unsubscribe. */
  onMessage(listener: (message: ChatMessage) => void): () => void {
    this.#messageListeners.add(listener);
    return () => void this.#messageListeners.delete(listener);
  }

  /** Joins and leaves in joined rooms. Returns the unsubscribe. */
  onPresence(listener: (event: PresenceEvent) => void): () => void {
    this.#presenceListeners.add(listener);
    return () => void this.#presenceListeners.delete(listener);
  }

  /** Connection changes of a reconnecting chat. Returns the unsubscribe. */
  onState(listener: (state: ChatState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => void this.#stateListeners.delete(listener);
  }

  /** Joins a room; with `since`, the messages after that msgId are replayed first (as `replay` messages). */
  async join(room: string, options: { since?: number } = {}): Promise<{ lastMsgId: number; memberCount: number; replayed?: number }> {
    const fields: Record<string, unknown> = { room };
    if (options.since !== undefined) fields.since = options.since;
    const { header } = await this.#request({ type: "chat.join", ...fields });
    if (!this.lastSeen.has(room)) this.lastSeen.set(room, options.since ?? Number(header.lastMsgId));
    const result: { lastMsgId: number; memberCount: number; replayed?: number } = { lastMsgId: Number(header.lastMsgId), memberCount: Number(header.memberCount) };
    if (typeof header.replayed === "number") result.replayed = header.replayed;
    return result;
  }

  /** Leaves a room. */
  async leave(room: string): Promise<boolean> {
    this.lastSeen.delete(room);
    const { header } = await this.#request({ type: "chat.leave", room });
    return header.left === true;
  }

  /** Sends to a room. Retried once with the same clientId after a reconnect: delivered once. */
  async send(room: string, text: string): Promise<{ msgId: number; ts: number; duplicate: boolean }> {
    const clientId = `${this.#prefix}-${(this.#counter += 1)}`;
    const { header } = await this.#request({ type: "chat.send", room, clientId }, encoder.encode(text));
    return { msgId: Number(header.msgId), ts: Number(header.ts), duplicate: header.duplicate === true };
  }

  /** The room's kept messages after `since` (and before `before`), oldest first. */
  async history(room: string, options: { since?: number; before?: number; limit?: number } = {}): Promise<{ messages: HistoryMessage[]; more: boolean; lastMsgId: number }> {
    const { header, body } = await this.#request({ type: "chat.history", room, ...options });
    const messages = decoder
      .decode(body)
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as HistoryMessage);
    return { messages, more: Number(header.remaining) > 0, lastMsgId: Number(header.lastMsgId) };
  }

  /** Who is in a room now. */
  async who(room: string): Promise<string[]> {
    const { body } = await this.#request({ type: "chat.who", room });
    return JSON.parse(decoder.decode(body)) as string[];
  }

  /** Stops: closes the connection and reconnects no more. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn?.close();
    this.#setState("closed");
  }

  /** A request on the current connection; one lost with its connection is sent again on the next (sends carry a clientId). */
  async #request(header: { type: string; [k: string]: unknown }, body?: Uint8Array) {
    for (let attempt = 1; ; attempt += 1) {
      if (this.#closed) throw new WharfError(ErrorCode.CONNECTION_CLOSED, "the chat was closed");
      const conn = this.#conn ?? (await (this.#ready as Promise<BrowserConnection>));
      try {
        return await conn.request(header, body, { timeout: this.#timeout });
      } catch (err) {
        const lost = err instanceof WharfError && conn.closed && this.#open !== null;
        if (!lost || attempt >= 2) throw err;
      }
    }
  }

  #attach(conn: BrowserConnection): void {
    this.#conn = conn;
    this.#detach = [
      conn.onEvent((header, body) => this.#onEvent(header, body)),
      conn.onClose(() => this.#onLost(conn)),
    ];
  }

  #onLost(conn: BrowserConnection): void {
    if (this.#conn !== conn) return;
    for (const off of this.#detach) off();
    this.#conn = null;
    if (this.#closed || this.#open === null) {
      if (!this.#closed) this.#setState("closed");
      return;
    }
    this.#setState("reconnecting");
    this.#ready = this.#connectLoop(true);
    this.#ready.catch(() => {});
  }

  /** Opens connections until one works (or the chat is closed), rejoining every room from its last msgId. */
  async #connectLoop(wait: boolean): Promise<BrowserConnection> {
    let delay = this.#reconnect.delay;
    for (let first = !wait; ; first = false) {
      if (!first) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, this.#reconnect.maxDelay);
      }
      if (this.#closed) throw new WharfError(ErrorCode.CONNECTION_CLOSED, "the chat was closed");
      let conn: BrowserConnection;
      try {
        conn = await (this.#open as () => Promise<BrowserConnection>)();
      } catch {
        continue;
      }
      if (this.#closed) {
        conn.close();
        throw new WharfError(ErrorCode.CONNECTION_CLOSED, "the chat was closed");
      }
      this.#attach(conn);
      try {
        for (const [room, since] of [...this.lastSeen]) await conn.request({ type: "chat.join", room, since }, undefined, { timeout: this.#timeout });
      } catch {
        if (!conn.closed) conn.close(); // try again from the start, with what was seen so far
        this.#conn = null;
        continue;
      }
      this.#setState("connected");
      return conn;
    }
  }

  #setState(state: ChatState): void {
    for (const listener of [...this.#stateListeners]) listener(state);
  }

  #onEvent(header: EventHeader, body: Uint8Array): void {
    if (header.event === "chat.presence") {
      const event = { room: String(header.room), user: String(header.user), action: header.action === "leave" ? "leave" : "join" } as PresenceEvent;
      for (const listener of [...this.#presenceListeners]) listener(event);
      return;
    }
    if (header.event !== "chat.message" || typeof header.msgId !== "number" || typeof header.from !== "string") return;
    const message: ChatMessage = { from: header.from, msgId: header.msgId, ts: Number(header.ts), text: decoder.decode(body) };
    if (typeof header.room === "string") message.room = header.room;
    if (typeof header.to === "string") message.to = header.to;
    if (header.replay === true) message.replay = true;
    if (message.room !== undefined) {
      const seen = this.lastSeen.get(message.room);
      if (seen !== undefined && message.msgId <= seen) return; // already shown
      this.lastSeen.set(message.room, message.msgId);
    }
    for (const listener of [...this.#messageListeners]) listener(message);
  }
}
