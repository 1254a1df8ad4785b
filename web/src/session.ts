/**
 * The page's one logged-in WebSocket connection: logs in (password once, then the token), keeps the token in
 * sessionStorage only (never a cookie or localStorage: it lives as long as the tab and no request carries it by
 * itself), reconnects with the token after a drop, and tells the pages each time a new connection is ready so
 * they can pick up where they were (chat rejoins from its last message, the dashboard resubscribes).
 */
import { connect, login, logout, type BrowserConnection } from "wharf/browser";
import { errorCode } from "./dom.js";

/** Who is logged in. */
export interface LoginInfo {
  user: string;
  canExec: boolean;
}

/** What the link to the server is doing. */
export type LinkState = "online" | "reconnecting" | "offline";

const TOKEN_KEY = "wharf.token";
const USER_KEY = "wharf.user";

/** The WebSocket URL of the server that served this page: same host, `/ws`. */
export function gatewayUrl(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

/**
 * One logged-in connection and its reconnection.
 *
 * @example
 * ```ts
 * const session = new Session();
 * const info = (await session.resume()) ?? (await session.logIn("alice", "secret"));
 * session.onConnect((conn) => void conn.request({ type: "ping" }));
 * ```
 */
export class Session {
  #conn: BrowserConnection | null = null;
  #info: LoginInfo | null = null;
  #token: string | null = null;
  #stopped = true;
  #connectListeners = new Set<(conn: BrowserConnection) => void>();
  #stateListeners = new Set<(state: LinkState) => void>();
  #endListeners = new Set<(reason: string) => void>();

  /** The live connection, or null while reconnecting or logged out. */
  get connection(): BrowserConnection | null {
    return this.#conn;
  }

  /** Who is logged in, or null. */
  get info(): LoginInfo | null {
    return this.#info;
  }

  /** Logs in with a password, asking for a token for reconnects. Rejects with the server's WharfError. */
  async logIn(user: string, password: string): Promise<LoginInfo> {
    const conn = await connect(gatewayUrl());
    try {
      const reply = await login(conn, { user, password, issueToken: true });
      this.#token = reply.token ?? null;
      if (this.#token !== null) {
        sessionStorage.setItem(TOKEN_KEY, this.#token);
        sessionStorage.setItem(USER_KEY, reply.user);
      }
      this.#adopt(conn, { user: reply.user, canExec: reply.canExec });
      return this.#info!;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Logs in again with the tab's saved token (after a reload); null when there is none or it is refused. */
  async resume(): Promise<LoginInfo | null> {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token === null) return null;
    this.#token = token;
    try {
      const conn = await this.#connectWithToken(token);
      this.#adopt(conn.conn, conn.info);
      return this.#info;
    } catch (err) {
      if (errorCode(err) === "E_AUTH") this.#forgetToken();
      return null;
    }
  }

  /** Revokes the token, closes the connection and forgets the login. */
  async logOut(): Promise<void> {
    const conn = this.#conn;
    const token = this.#token;
    this.#stopped = true;
    this.#forgetToken();
    this.#conn = null;
    this.#info = null;
    if (conn !== null) {
      if (token !== null) await logout(conn, token).catch(() => false);
      conn.close();
    }
    this.#setState("offline");
  }

  /** Calls `listener` with the connection now (if there is one) and after every reconnect; returns an unsubscribe. */
  onConnect(listener: (conn: BrowserConnection) => void): () => void {
    this.#connectListeners.add(listener);
    if (this.#conn !== null) listener(this.#conn);
    return () => this.#connectListeners.delete(listener);
  }

  /** Told when the link goes online, is being re-established, or is off. */
  onState(listener: (state: LinkState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** Told when the session ends without a log out (the token was refused on a reconnect). */
  onEnd(listener: (reason: string) => void): () => void {
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  async #connectWithToken(token: string): Promise<{ conn: BrowserConnection; info: LoginInfo }> {
    const conn = await connect(gatewayUrl());
    try {
      const reply = await login(conn, { token });
      return { conn, info: { user: reply.user, canExec: reply.canExec } };
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  #adopt(conn: BrowserConnection, info: LoginInfo): void {
    this.#conn = conn;
    this.#info = info;
    this.#stopped = false;
    conn.onClose(() => {
      if (this.#conn !== conn) return;
      this.#conn = null;
      if (!this.#stopped) void this.#reconnect();
    });
    this.#setState("online");
    for (const listener of [...this.#connectListeners]) listener(conn);
  }

  async #reconnect(): Promise<void> {
    this.#setState("reconnecting");
    let delay = 250;
    while (!this.#stopped && this.#token !== null) {
      try {
        const { conn, info } = await this.#connectWithToken(this.#token);
        if (this.#stopped) {
          conn.close();
          return;
        }
        this.#adopt(conn, info);
        return;
      } catch (err) {
        if (errorCode(err) === "E_AUTH") {
          this.#stopped = true;
          this.#forgetToken();
          this.#setState("offline");
          for (const listener of [...this.#endListeners]) listener("Your login has ended; please log in again.");
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }

  #forgetToken(): void {
    this.#token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  }

  #setState(state: LinkState): void {
    for (const listener of [...this.#stateListeners]) listener(state);
  }
}
