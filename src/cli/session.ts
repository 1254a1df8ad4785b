import { userInfo } from "node:os";
import { Option, type Command } from "commander";
import { connect } from "../client/connect.js";
import type { Connection } from "../client/connection.js";
import { AccountErrorCode } from "../services/accounts/errors.js";
import { login, type Credentials } from "../services/accounts/login.js";
import { WharfError } from "../wire/index.js";
import { savedLogins, type SavedLogin } from "./credentials.js";
import { CliError, usageError } from "./fail.js";
import { markPhase } from "./phase-timer.js";
import { promptHidden } from "./prompt.js";

/** The options every client verb takes. `user` is undefined when neither `--user` nor `$WHARF_USER` names one. */
export interface ClientOptions {
  server: string;
  user?: string;
}

/** The server URL when `--server` is not given. */
export const DEFAULT_SERVER = "tcp://127.0.0.1:9000";

/** Adds `--server` and `--user` to a client verb. */
export function withClientOptions(command: Command): Command {
  return command
    .addOption(new Option("--server <url>", "server URL (tcp://, tls:// or unix://)").default(process.env.WHARF_SERVER ?? DEFAULT_SERVER))
    .addOption(
      // No default value here: it is resolved at run time, because a saved login (wharf login) names its user.
      new Option("--user <name>", "user name (default: the user of wharf login, else $WHARF_USER, else your login name)"),
    );
}

/** The login name of this machine's user, or "" when it has none. */
export function safeLoginName(): string {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

/** The user a verb acts as: `--user`, else the saved login's (`saved`, when the caller has read it), else `$WHARF_USER`, else the login name. */
export async function resolveUser(options: ClientOptions, saved?: SavedLogin): Promise<string> {
  const user = options.user ?? (saved ?? (await savedLogins.get(options.server)))?.user ?? process.env.WHARF_USER ?? safeLoginName();
  if (user === "") throw usageError("no user name: pass --user or set WHARF_USER");
  return user;
}

/**
 * The password of a client verb: `WHARF_PASSWORD`, else a prompt on a terminal. Never a command-line argument,
 * which other users of the machine could read in the process list.
 */
export async function clientPassword(user: string): Promise<string> {
  const fromEnv = process.env.WHARF_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (process.stdin.isTTY) return promptHidden(`Password for ${user}: `);
  throw new CliError(AccountErrorCode.AUTH, "no password: run wharf login, set WHARF_PASSWORD, or run on a terminal to be asked");
}

/**
 * How a verb logs in, in gh's order: `WHARF_PASSWORD` when set (explicit beats saved), else the token saved by
 * `wharf login` for this server (when it is for the same user), else a password prompt.
 */
export async function clientCredentials(options: ClientOptions): Promise<{ user: string; credentials: Credentials; saved: boolean }> {
  const saved = await savedLogins.get(options.server);
  const user = await resolveUser(options, saved);
  if (process.env.WHARF_PASSWORD === undefined && saved !== undefined && saved.user === user) {
    return { user, credentials: { token: saved.token }, saved: true };
  }
  return { user, credentials: { user, password: await clientPassword(user) }, saved: false };
}

/** Connects to `--server` and logs in (saved token, `WHARF_PASSWORD` or a prompt; see {@link clientCredentials}). */
export async function openSession(options: ClientOptions): Promise<Connection> {
  const { credentials, saved } = await clientCredentials(options);
  markPhase("credentials read");
  const conn = await connect(options.server);
  markPhase("connected");
  try {
    await login(conn, credentials);
  } catch (err) {
    conn.destroy();
    if (saved && err instanceof WharfError && err.code === AccountErrorCode.AUTH) {
      throw new CliError(AccountErrorCode.AUTH, `the saved login for ${options.server} was refused (expired or revoked): run wharf login again`);
    }
    throw err;
  }
  return conn;
}
