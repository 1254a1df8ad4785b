import { EventEmitter } from "node:events";
import { connect } from "../../client/index.js";
import { WharfError } from "../../wire/index.js";
import { login, type Credentials } from "../accounts/index.js";
import { ChatClient, type HistoryMessage, type PresenceEvent, type ReceivedMessage } from "./client.js";
import { UdpChatClient } from "./udp-client.js";

/**
 * A chat session as an interactive or scripted client needs it, over either transport. Emits `"message"`,
 * `"presence"`, `"gap"` (UDP), `"status"` (a line for people: reconnecting...), and `"lost"` (error) when the
 * session cannot go on.
 */
export interface ChatSession extends EventEmitter {
  /** The name others see: the user name, or `~nick` for a UDP guest. */
  readonly me: string;
  join(room: string, since?: number): Promise<unknown>;
  leave(room: string): Promise<boolean>;
  send(room: string, text: string): Promise<{ msgId: number }>;
  sendTo(user: string, text: string): Promise<{ msgId: number }>;
  who(room: string): Promise<string[]>;
  rooms(): Promise<{ room: string; members: number }[]>;
  history(room: string, options: { since?: number; limit?: number }): Promise<{ messages: HistoryMessage[] }>;
  close(): Promise<void>;
}

function describe(err: unknown): string {
  return err instanceof WharfError ? `${err.code}: ${err.message}` : (err as Error).message;
}

/**
 * A logged-in stream session that survives a lost connection: it reconnects (5 attempts, backing off from 0.5 s),
 * logs in again and rejoins its rooms from the last msgId it saw, so nothing kept is missed.
 *
 * @example
 * ```ts
 * const session = await StreamChatSession.open("tcp://127.0.0.1:9000", "alice", password);
 * session.on("message", (m) => console.log(m.text));
 * await session.join("lobby");
 * ```
 */
export class StreamChatSession extends EventEmitter implements ChatSession {
  readonly me: string;
  #url: string;
  #credentials: Credentials;
  #client!: ChatClient;
  #rooms = new Map<string, number>();
  #closing = false;

  private constructor(url: string, user: string, credentials: Credentials) {
    super();
    this.me = user;
    this.#url = url;
    this.#credentials = credentials;
  }

  /** Opens a session: `password` is the user's password, or credentials (a token saved by `wharf login`). */
  static async open(url: string, user: string, password: string | Credentials): Promise<StreamChatSession> {
    const session = new StreamChatSession(url, user, typeof password === "string" ? { user, password } : password);
    await session.#connect();
    return session;
  }

  async #connect(): Promise<void> {
    const conn = await connect(this.#url);
    try {
      await login(conn, this.#credentials);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    const client = new ChatClient(conn);
    client.on("message", (m: ReceivedMessage) => {
      if (m.room !== undefined && this.#rooms.has(m.room)) this.#rooms.set(m.room, Math.max(this.#rooms.get(m.room) ?? 0, m.msgId));
      this.emit("message", m);
    });
    client.on("presence", (p: PresenceEvent) => this.emit("presence", p));
    client.on("close", (err?: Error) => void this.#onClose(err));
    this.#client = client;
  }

  async #onClose(err?: Error): Promise<void> {
    if (this.#closing) return;
    const reason = err === undefined ? "the connection closed" : describe(err);
    let delay = 500;
    for (let attempt = 1; attempt <= 5 && !this.#closing; attempt += 1) {
      this.emit("status", `${reason}; reconnecting (attempt ${attempt})`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
      try {
        await this.#connect();
        await this.#client.rejoin(this.#rooms);
        this.emit("status", "reconnected; missed messages follow");
        return;
      } catch {
        // try again
      }
    }
    if (!this.#closing) this.emit("lost", err ?? new WharfError("E_CONNECTION_CLOSED", "the connection closed"));
  }

  async join(room: string, since?: number): Promise<unknown> {
    const reply = await this.#client.join(room, since === undefined ? {} : { since });
    this.#rooms.set(room, Math.max(this.#rooms.get(room) ?? 0, since ?? reply.lastMsgId));
    return reply;
  }

  async leave(room: string): Promise<boolean> {
    this.#rooms.delete(room);
    return this.#client.leave(room);
  }

  send(room: string, text: string): Promise<{ msgId: number }> {
    return this.#client.send(room, text);
  }

  sendTo(user: string, text: string): Promise<{ msgId: number }> {
    return this.#client.sendTo(user, text);
  }

  who(room: string): Promise<string[]> {
    return this.#client.who(room);
  }

  rooms(): Promise<{ room: string; members: number }[]> {
    return this.#client.rooms();
  }

  history(room: string, options: { since?: number; limit?: number }): Promise<{ messages: HistoryMessage[] }> {
    return this.#client.history(room, options);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#client.conn.close();
  }
}

/** A UDP guest session (`~nick`): gaps are reported and filled from the history by {@link UdpChatClient}. */
export class DatagramChatSession extends EventEmitter implements ChatSession {
  readonly me: string;
  #client: UdpChatClient;

  private constructor(client: UdpChatClient) {
    super();
    this.#client = client;
    this.me = client.name;
    for (const event of ["message", "presence", "gap"]) client.on(event, (value: unknown) => this.emit(event, value));
    client.on("error", (err: Error) => this.emit("status", describe(err)));
  }

  static async open(url: string, nick: string): Promise<DatagramChatSession> {
    return new DatagramChatSession(await UdpChatClient.open(url, nick));
  }

  join(room: string): Promise<unknown> {
    return this.#client.join(room);
  }

  leave(room: string): Promise<boolean> {
    return this.#client.leave(room);
  }

  send(room: string, text: string): Promise<{ msgId: number }> {
    return this.#client.send(room, text);
  }

  sendTo(user: string, text: string): Promise<{ msgId: number }> {
    return this.#client.sendTo(user, text);
  }

  who(room: string): Promise<string[]> {
    return this.#client.who(room);
  }

  rooms(): Promise<{ room: string; members: number }[]> {
    return this.#client.rooms();
  }

  history(room: string, options: { since?: number; limit?: number }): Promise<{ messages: HistoryMessage[] }> {
    return this.#client.history(room, options);
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
