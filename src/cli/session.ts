import { userInfo } from "node:os";
import type { Command } from "commander";
import { connect, type Connection } from "../client/index.js";
import { login } from "../services/accounts/session.js";
import { CliError } from "./fail.js";
import { promptHidden } from "./prompt.js";

/** The options every client verb takes. */
export interface ClientOptions {
  server: string;
  user: string;
}

/** Adds `--server` and `--user` to a client verb. */
export function withClientOptions(command: Command): Command {
  return command
    .option("--server <url>", "server URL (tcp://, tls:// or unix://)", process.env.WHARF_SERVER ?? "tcp://127.0.0.1:9000")
    .option("--user <name>", "user name (default: $WHARF_USER, else your login name)", process.env.WHARF_USER ?? safeLoginName());
}

function safeLoginName(): string {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

/**
 * The password of a client verb: `WHARF_PASSWORD`, else a prompt on a terminal. Never a command-line argument,
 * which other users of the machine could read in the process list.
 */
export async function clientPassword(user: string): Promise<string> {
  const fromEnv = process.env.WHARF_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (process.stdin.isTTY) return promptHidden(`Password for ${user}: `);
  throw new CliError("no password: set WHARF_PASSWORD, or run on a terminal to be asked");
}

/** Connects to `--server` and logs in as `--user`. */
export async function openSession(options: ClientOptions): Promise<Connection> {
  if (options.user === "") throw new CliError("no user name: pass --user or set WHARF_USER");
  const password = await clientPassword(options.user);
  const conn = await connect(options.server);
  try {
    await login(conn, options.user, password);
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return conn;
}
