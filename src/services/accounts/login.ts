import type { Connection } from "../../client/index.js";

/*
 * The client side of `auth` (protocol.md §3): kept apart from session.ts, which registers the server side, so
 * that a client (the CLI's put, get, ls ...) logs in without loading the server, its logger and the account store.
 */

/** How a client proves who it is: a password (optionally asking for a token), or a token issued before. */
export type Credentials =
  | { user: string; password: string; issueToken?: boolean; tokenTtl?: number }
  | { token: string };

/** What a successful login resolves: the user, and the token when one was asked for. */
export interface LoginResult {
  user: string;
  canExec: boolean;
  /** Present when `issueToken` was asked: the token (shown once) and when it expires (ms since the epoch). */
  token?: string;
  expires?: number;
}

/**
 * Logs a client connection in: `login(conn, user, password)`, or `login(conn, { token })`, or
 * `login(conn, { user, password, issueToken: true })` to get a token for later logins. Rejects with `E_AUTH` or
 * `E_AUTH_THROTTLED`.
 *
 * @example
 * ```ts
 * const conn = await connect("tcp://127.0.0.1:9000");
 * await login(conn, "alice", process.env.WHARF_PASSWORD ?? "");
 * ```
 */
export async function login(conn: Connection, userOrCredentials: string | Credentials, password?: string): Promise<LoginResult> {
  const credentials: Credentials = typeof userOrCredentials === "string" ? { user: userOrCredentials, password: password ?? "" } : userOrCredentials;
  const reply = await conn.request("auth", { ...credentials }, undefined, { timeout: 30_000 });
  const result: LoginResult = { user: String(reply.header.user), canExec: reply.header.canExec === true };
  if (typeof reply.header.token === "string") {
    result.token = reply.header.token;
    result.expires = Number(reply.header.expires);
  }
  return result;
}

/** Revokes a token on the server (`auth.revoke`); resolves whether the server still had it. */
export async function revokeToken(conn: Connection, token: string): Promise<boolean> {
  const reply = await conn.request("auth.revoke", { token }, undefined, { timeout: 30_000 });
  return reply.header.revoked === true;
}
