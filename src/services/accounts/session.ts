import type { Connection } from "../../client/index.js";
import { SessionKey, type RequestContext, type Server } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { typesAdded, type Service } from "../service.js";
import { AccountErrorCode } from "./errors.js";
import type { Account, AccountStore } from "./store.js";
import { LoginThrottle, type LoginThrottleOptions } from "./throttle.js";

/** The account a connection logged in as. */
const SESSION_USER = new SessionKey<Account>("wharf.user");

/** Options of {@link registerAuth}. */
export interface AuthOptions {
  throttle?: LoginThrottleOptions;
}

/**
 * Adds the `auth` request type: `{ "type": "auth", "id": N, "user": NAME, "password": PASSWORD }`. On success the
 * connection acts as that user from then on, and the reply carries `{ user, canExec }`; a wrong name or password
 * gets `E_AUTH`, and repeated failures from one peer address (for any names, and for one name) get
 * `E_AUTH_THROTTLED` with `data.retryAfterMs` there; other addresses are not affected (see {@link LoginThrottle}). Only over stream connections (a datagram has no connection to remember a login).
 * The password is never logged. Returns the service (`name` "auth"); its `close()` has nothing to release.
 *
 * @example
 * ```ts
 * registerAuth(server, new AccountStore(dataDir));
 * server.handle("whoami", (_h, _b, ctx) => ({ header: { user: currentUser(ctx).name } }));
 * ```
 */
export function registerAuth(server: Server, store: AccountStore, options: AuthOptions = {}): Service {
  const throttle = new LoginThrottle(options.throttle);
  const types = typesAdded(server, () => server.handle("auth", async (header, _body, ctx) => {
    if (ctx.peer.transport === "udp") {
      throw new WharfError(AccountErrorCode.FORBIDDEN, "log in over a stream connection (tcp, tls or unix), not udp");
    }
    const { user, password } = header;
    if (typeof user !== "string" || typeof password !== "string") {
      throw new WharfError(AccountErrorCode.AUTH, "auth needs string fields user and password");
    }
    const address = ctx.peer.address;
    const account = await throttle.attempt(address, user, async () => {
      if (ctx.aborted) throw ctx.signal.reason; // the connection went away while it queued: no need to check
      const wait = throttle.waitFor(address, user);
      if (wait > 0) {
        throw new WharfError(AccountErrorCode.AUTH_THROTTLED, `too many failed logins from this address: retry in ${Math.ceil(wait / 1000)} s`, {
          data: { retryAfterMs: wait },
        });
      }
      const found = await store.verify(user, password);
      if (found === null) {
        throttle.failed(address, user);
        ctx.logger.warn({ user: user.slice(0, 64), peer: address }, "failed login"); // a name may be 64 KiB long
        throw new WharfError(AccountErrorCode.AUTH, "wrong user name or password");
      }
      throttle.succeeded(address, user);
      return found;
    });
    ctx.session.set(SESSION_USER, account);
    ctx.logger.info({ user }, "logged in");
    return { header: { user: account.name, canExec: account.canExec } };
  }));
  // Logins live in each connection's session and go with it; the throttle is memory only.
  return { name: "auth", types, close: () => Promise.resolve() };
}

/** The account this request's connection logged in as; throws `E_AUTH` when it has not. */
export function currentUser(ctx: RequestContext): Account {
  const account = ctx.session.get(SESSION_USER);
  if (account === undefined) throw new WharfError(AccountErrorCode.AUTH, "log in first (request type auth)");
  return account;
}

/**
 * Logs a client connection in as a user. Rejects with `E_AUTH` or `E_AUTH_THROTTLED`.
 *
 * @example
 * ```ts
 * const conn = await connect("tcp://127.0.0.1:9000");
 * await login(conn, "alice", process.env.WHARF_PASSWORD ?? "");
 * ```
 */
export async function login(conn: Connection, user: string, password: string): Promise<{ user: string; canExec: boolean }> {
  const reply = await conn.request("auth", { user, password }, undefined, { timeout: 30_000 });
  return { user: String(reply.header.user), canExec: reply.header.canExec === true };
}
