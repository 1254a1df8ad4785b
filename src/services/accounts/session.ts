import { SessionKey, type RequestContext, type Server } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { typesAdded, type Service } from "../service.js";
import { AccountErrorCode } from "./errors.js";
import type { Account, AccountStore } from "./store.js";
import { LoginThrottle, type LoginGate, type LoginThrottleOptions } from "./throttle.js";
import { DEFAULT_TOKEN_TTL, hashToken, issueToken, type TokenStore } from "./tokens.js";

// The client side (login, revokeToken) lives in login.ts, so that a client does not load the server to log in.
export { login, revokeToken, type Credentials, type LoginResult } from "./login.js";

/** The account a connection logged in as. */
const SESSION_USER = new SessionKey<Account>("wharf.user");

/** Options of {@link registerAuth}. */
export interface AuthOptions {
  throttle?: LoginThrottleOptions;
  /** A throttle shared by a cluster (`RedisLoginThrottle`); default: a {@link LoginThrottle} of this process with `throttle`. */
  loginThrottle?: LoginGate;
  /** Where login tokens live; without it, `auth` takes passwords only and issues no tokens. */
  tokens?: TokenStore;
  /** Longest lifetime of an issued token, ms (a client may ask for less). Default 30 days. */
  tokenTtl?: number;
}

/**
 * Adds the `auth` request type, in two forms (protocol.md §3, `auth`):
 *
 * - `{ "type": "auth", "id": N, "user": NAME, "password": PASSWORD }`, optionally with `"issueToken": true` (and
 *   `"tokenTtl": MS`, at most the server's): the reply then also carries `token` (shown once) and `expires`.
 * - `{ "type": "auth", "id": N, "token": TOKEN }`: a token issued before, until it expires or is revoked.
 *
 * On success the connection acts as that user from then on, and the reply carries `{ user, canExec }`. A wrong
 * name, password or token gets `E_AUTH`; repeated failures from one peer address (for any names, and for one
 * name) get `E_AUTH_THROTTLED` with `data.retryAfterMs` there; other addresses are not affected (see
 * {@link LoginThrottle}). Only over stream connections (a datagram has no connection to remember a login):
 * over UDP `auth` gets `E_FORBIDDEN`. Also adds `auth.revoke` `{ "token": TOKEN }` → `{ revoked: boolean }`
 * (`wharf logout`): holding the token is the proof. Passwords and tokens are never logged. Returns the service
 * (`name` "auth"); its `close()` has nothing to release.
 *
 * @example
 * ```ts
 * registerAuth(server, new AccountStore(dataDir), { tokens: new FileTokenStore(dataDir) });
 * server.handle("whoami", (_h, _b, ctx) => ({ header: { user: currentUser(ctx).name } }));
 * ```
 */
export function registerAuth(server: Server, store: AccountStore, options: AuthOptions = {}): Service {
  const throttle: LoginGate = options.loginThrottle ?? new LoginThrottle(options.throttle);
  const tokens = options.tokens;
  const maxTtl = options.tokenTtl ?? DEFAULT_TOKEN_TTL;
  if (!Number.isSafeInteger(maxTtl) || maxTtl <= 0) throw new RangeError("options.tokenTtl must be a positive integer of milliseconds");
  const types = typesAdded(server, () => {
    server.handle("auth", async (header, _body, ctx) => {
      if (ctx.peer.transport === "udp") {
        throw new WharfError(AccountErrorCode.FORBIDDEN, "log in over a stream connection (tcp, tls or unix), not udp");
      }
      const { user, password, token } = header;
      const byToken = typeof token === "string";
      if (!byToken && (typeof user !== "string" || typeof password !== "string")) {
        throw new WharfError(AccountErrorCode.AUTH, "auth needs string fields user and password, or token");
      }
      if (byToken && tokens === undefined) throw new WharfError(AccountErrorCode.AUTH, "this server issues no tokens: log in with a password");
      const address = ctx.peer.address;
      const name = byToken ? "(token)" : (user as string);
      const account = await throttle.attempt(address, name, async () => {
        if (ctx.aborted) throw ctx.signal.reason; // the connection went away while it queued: no need to check
        const wait = await throttle.waitFor(address, name);
        if (wait > 0) {
          throw new WharfError(AccountErrorCode.AUTH_THROTTLED, `too many failed logins from this address: retry in ${Math.ceil(wait / 1000)} s`, {
            data: { retryAfterMs: wait },
          });
        }
        const found = byToken ? await accountOfToken(store, tokens!, token) : await store.verify(name, password as string);
        if (found === null) {
          await throttle.failed(address, name);
          ctx.logger.warn({ user: name.slice(0, 64), peer: address }, "failed login"); // a name may be 64 KiB long
          throw new WharfError(AccountErrorCode.AUTH, byToken ? "the token is unknown, expired or revoked: log in again (wharf login)" : "wrong user name or password");
        }
        await throttle.succeeded(address, name);
        return found;
      });
      ctx.session.set(SESSION_USER, account);
      ctx.logger.info({ user: account.name, by: byToken ? "token" : "password" }, "logged in");
      const reply: Record<string, unknown> = { user: account.name, canExec: account.canExec };
      if (!byToken && header.issueToken === true) {
        if (tokens === undefined) throw new WharfError(AccountErrorCode.FORBIDDEN, "this server issues no tokens");
        const asked = header.tokenTtl;
        const ttl = Number.isSafeInteger(asked) && (asked as number) > 0 ? Math.min(asked as number, maxTtl) : maxTtl;
        const issued = await issueToken(tokens, account.name, ttl);
        reply.token = issued.token;
        reply.expires = issued.record.expires;
      }
      return { header: reply };
    });
    server.handle("auth.revoke", async (header) => {
      if (typeof header.token !== "string") throw new WharfError(AccountErrorCode.AUTH, "auth.revoke needs a string field token");
      if (tokens === undefined) return { header: { revoked: false } };
      return { header: { revoked: await tokens.remove(hashToken(header.token)) } };
    });
  });
  // Logins live in each connection's session and go with it; the throttle is memory only; tokens live in the store.
  return { name: "auth", types, close: () => Promise.resolve() };
}

/** The account a token stands for, if the token is live and its user still exists. */
async function accountOfToken(store: AccountStore, tokens: TokenStore, token: string): Promise<Account | null> {
  if (token.length > 256) return null;
  const record = await tokens.find(hashToken(token));
  if (record === undefined) return null;
  return (await store.get(record.user)) ?? null;
}

/** The account this request's connection logged in as; throws `E_AUTH` when it has not. */
export function currentUser(ctx: RequestContext): Account {
  const account = ctx.session.get(SESSION_USER);
  if (account === undefined) throw new WharfError(AccountErrorCode.AUTH, "log in first (request type auth)");
  return account;
}
