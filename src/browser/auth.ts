import type { BrowserConnection } from "./connection.js";

/** How to log in: a password (optionally asking for a token to keep), or a token issued before. */
export type LoginCredentials =
  | { user: string; password: string; issueToken?: boolean; tokenTtl?: number }
  | { token: string };

/** A successful login: who the connection acts as, and with `issueToken` the token and its expiry (ms). */
export interface LoginResult {
  user: string;
  canExec: boolean;
  token?: string;
  expires?: number;
}

/**
 * Logs the connection in (the `auth` request, docs/protocol.md §3). Rejects with a WharfError `E_AUTH` (wrong
 * password, or an unknown, expired or revoked token) or `E_AUTH_THROTTLED` (`error.data.retryAfterMs`); the
 * connection stays open either way. Keep a token in memory (sessionStorage at most), never in a cookie.
 *
 * @example
 * ```ts
 * const { token } = await login(conn, { user: "alice", password, issueToken: true });
 * // later, on a new connection:
 * await login(conn2, { token: token! });
 * ```
 */
export async function login(conn: BrowserConnection, credentials: LoginCredentials): Promise<LoginResult> {
  const fields: Record<string, unknown> =
    "token" in credentials
      ? { token: credentials.token }
      : {
          user: credentials.user,
          password: credentials.password,
          ...(credentials.issueToken === true ? { issueToken: true } : {}),
          ...(credentials.tokenTtl !== undefined ? { tokenTtl: credentials.tokenTtl } : {}),
        };
  const { header } = await conn.request({ type: "auth", ...fields });
  const result: LoginResult = { user: String(header.user), canExec: header.canExec === true };
  if (typeof header.token === "string") result.token = header.token;
  if (typeof header.expires === "number") result.expires = header.expires;
  return result;
}

/**
 * Revokes a login token (`auth.revoke`: holding the token is the proof, no login needed). Resolves false when
 * the server no longer had it.
 *
 * @example
 * ```ts
 * await logout(conn, token);
 * ```
 */
export async function logout(conn: BrowserConnection, token: string): Promise<boolean> {
  const { header } = await conn.request({ type: "auth.revoke", token });
  return header.revoked === true;
}
