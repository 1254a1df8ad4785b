import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { connect } from "../../client/index.js";
import { WharfError } from "../../wire/index.js";
import { login, type Credentials } from "../accounts/index.js";
import { ChatClient, type HistoryMessage, type PresenceEvent, type ReceivedMessage } from "./client.js";
import type { ChatSession } from "./session.js";

/** Options of {@link StreamChatSession.open}. */
export interface StreamChatOptions {
  /** How long to keep trying to reconnect before giving up (`"lost"`), ms. Default 60,000. */
  retryFor?: number;
  /** First wait before a reconnection attempt, ms; it doubles up to `maxDelay`. Default 250. */
  firstDelay?: number;
  /** Longest wait between reconnection attempts, ms. Default 4,000. */
  maxDelay?: number;
}

/** Failures after which a request is worth sending again once reconnected (same clientId: never twice). */
const RETRYABLE = new Set(["E_CONNECTION_CLOSED", "E_SHUTTING_DOWN", "E_CONNECT", "E_UNAVAILABLE", "E_TIMEOUT"]);

function describe(err: unknown): string {
  return err instanceof WharfError ? `${err.code}: ${err.message}` : (err as Error).message;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A logged-in stream session that survives its server: when the connection drops (the node was killed) or the
 * server asks its clients to move (`chat.reconnect` while it drains), it connects again, with a backoff, to its
 * address (through a balancer, another node) or the next of its addresses, logs in again, and rejoins its rooms
 * from the last msgId it saw, so nothing kept is missed and nothing is shown twice. A send that failed with the
 * connection is sent again with the same clientId once reconnected: the server recognises a retry.
 *
 * @example
 * ```ts
 * const session = await StreamChatSession.open(["tcp://10.0.0.2:9000", "tcp://10.0.0.3:9000"], "alice", password);
 * session.on("message", (m) => console.log(m.text));
 * await session.join("lobby");
 * ```
 */
export class StreamChatSession extends EventEmitter implements ChatSession {
  readonly me: string;
  #urls: string[];
  #at = 0;
  #credentials: Credentials;
  #options: Required<StreamChatOptions>;
  #client!: ChatClient;
  /** Rooms joined, and the highest msgId seen in each. */
  #rooms = new Map<string, number>();
  #reconnecting: Promise<void> | null = null;
  #closing = false;
  #lost = false;
  #prefix = randomBytes(6).toString("base64url");
  #counter = 0;

  private constructor(urls: string[], user: string, credentials: Credentials, options: StreamChatOptions) {
    super();
    this.me = user;
    this.#urls = urls;
    this.#credentials = credentials;
    this.#options = { retryFor: options.retryFor ?? 60_000, firstDelay: options.firstDelay ?? 250, maxDelay: options.maxDelay ?? 4_000 };
  }

  /**
   * Opens a session on the first address that answers: `password` is the user's password, or credentials (a
   * token saved by `wharf login`).
   */
  static async open(url: string | string[], user: string, password: string | Credentials, options: StreamChatOptions = {}): Promise<StreamChatSession> {
    const urls = typeof url === "string" ? [url] : url;
    if (urls.length === 0) throw new TypeError("give at least one server URL");
    const session = new StreamChatSession(urls, user, typeof password === "string" ? { user, password } : password, options);
    let failure: unknown;
    for (let i = 0; i < urls.length; i += 1) {
      try {
        session.#use(await session.#dial(i));
        return session;
      } catch (err) {
        failure = err;
        if (err instanceof WharfError && err.code === "E_AUTH") throw err;
      }
    }
    throw failure;
  }

  /** The address of the current connection. */
  get url(): string {
    return this.#urls[this.#at];
  }

  async #dial(at: number): Promise<ChatClient> {
    const conn = await connect(this.#urls[at]);
    try {
      await login(conn, this.#credentials);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    this.#at = at;
    const client = new ChatClient(conn);
    client.on("message", (m: ReceivedMessage) => this.#onMessage(m));
    client.on("presence", (p: PresenceEvent) => {
      if (client === this.#client) this.emit("presence", p);
    });
    client.on("reconnect", () => {
      if (client === this.#client) void this.#reconnect(client, "the server is draining", true);
    });
    client.on("close", (err?: Error) => {
      if (client === this.#client) void this.#reconnect(client, err === undefined ? "the connection closed" : describe(err), false);
    });
    return client;
  }

  #use(client: ChatClient): void {
    this.#client = client;
  }

  /** Shows each room message once, whichever connection brought it (old and new overlap during a move). */
  #onMessage(m: ReceivedMessage): void {
    if (m.room !== undefined && this.#rooms.has(m.room)) {
      if (m.msgId <= (this.#rooms.get(m.room) ?? 0)) return;
      this.#rooms.set(m.room, m.msgId);
    }
    this.emit("message", m);
  }

  /**
   * Moves to a new connection: at once to the next address when the server asked (`moving`; the old connection
   * keeps delivering until the new one has rejoined), else after a backoff. Gives up after `retryFor`.
   */
  #reconnect(from: ChatClient, reason: string, moving: boolean): Promise<void> {
    if (this.#closing || this.#lost || from !== this.#client) return this.#reconnecting ?? Promise.resolve();
    this.#reconnecting ??= (async () => {
      const deadline = Date.now() + this.#options.retryFor;
      let delay = this.#options.firstDelay;
      let attempt = 0;
      let failure: unknown = new WharfError("E_CONNECTION_CLOSED", reason);
      while (!this.#closing && Date.now() < deadline) {
        attempt += 1;
        const at = (this.#at + (this.#urls.length > 1 ? 1 : 0)) % this.#urls.length;
        if (!(moving && attempt === 1)) await sleep(delay);
        delay = Math.min(this.#options.maxDelay, delay * 2);
        this.emit("status", `${reason}; reconnecting to ${this.#urls[at]} (attempt ${attempt})`);
        let client: ChatClient | null = null;
        try {
          client = await this.#dial(at);
          // Requests keep going to the old connection (and are retried) until the new one is in every room.
          await client.rejoin([...this.#rooms]);
          this.#use(client);
          if (from.conn.closed === false) void from.conn.close().catch(() => {});
          this.emit("status", `reconnected to ${this.#urls[at]}; missed messages follow`);
          return;
        } catch (err) {
          failure = err;
          client?.conn.destroy();
          this.#at = at;
          // Refused credentials (a revoked token, a removed user) do not get better by waiting.
          if (err instanceof WharfError && err.code === "E_AUTH") break;
        }
      }
      if (!this.#closing) {
        this.#lost = true;
        this.emit("lost", failure instanceof Error ? failure : new WharfError("E_CONNECTION_CLOSED", reason));
      }
    })().finally(() => {
      this.#reconnecting = null;
    });
    return this.#reconnecting;
  }

  /**
   * Runs a request on the current connection; when it fails with the connection (or while Redis is briefly
   * away), waits for the reconnection and runs it again, until `retryFor` has passed.
   */
  async #retrying<T>(request: (client: ChatClient) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#options.retryFor;
    for (;;) {
      // A connection known to be gone is not tried: wait for its replacement.
      if (this.#client.conn.closed && this.#reconnecting !== null) await this.#reconnecting;
      const client = this.#client;
      try {
        return await request(client);
      } catch (err) {
        if (this.#closing || this.#lost || !(err instanceof WharfError) || !RETRYABLE.has(err.code) || Date.now() > deadline) throw err;
        if (err.code === "E_UNAVAILABLE" || err.code === "E_TIMEOUT") await sleep(250);
        else if (this.#reconnecting !== null) await this.#reconnecting;
        else if (client === this.#client) await this.#reconnect(client, describe(err), false);
        if (this.#lost) throw err;
      }
    }
  }

  async join(room: string, since?: number): Promise<unknown> {
    if (!this.#rooms.has(room)) this.#rooms.set(room, since ?? 0);
    const reply = await this.#retrying((client) => client.join(room, since === undefined ? {} : { since }));
    this.#rooms.set(room, Math.max(this.#rooms.get(room) ?? 0, since ?? reply.lastMsgId));
    return reply;
  }

  async leave(room: string): Promise<boolean> {
    this.#rooms.delete(room);
    return this.#retrying((client) => client.leave(room));
  }

  /** Sends to a room; a send cut by a lost connection is sent again (same clientId) once reconnected. */
  send(room: string, text: string): Promise<{ msgId: number }> {
    const clientId = this.#nextClientId();
    return this.#retrying((client) => client.send(room, text, clientId));
  }

  sendTo(user: string, text: string): Promise<{ msgId: number }> {
    const clientId = this.#nextClientId();
    return this.#retrying((client) => client.sendTo(user, text, clientId));
  }

  who(room: string): Promise<string[]> {
    return this.#retrying((client) => client.who(room));
  }

  rooms(): Promise<{ room: string; members: number }[]> {
    return this.#retrying((client) => client.rooms());
  }

  history(room: string, options: { since?: number; limit?: number }): Promise<{ messages: HistoryMessage[] }> {
    return this.#retrying((client) => client.history(room, options));
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#client.conn.close();
  }

  #nextClientId(): string {
    this.#counter += 1;
    return `${this.#prefix}-${this.#counter}`;
  }
}
