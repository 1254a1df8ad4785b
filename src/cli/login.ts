import { Option, type Command } from "commander";
import { connect } from "../client/connect.js";
import { login, revokeToken } from "../services/accounts/login.js";
import { savedLogins, hostsPath } from "./credentials.js";
import { action } from "./fail.js";
import { asDuration, durationOption } from "./parse.js";
import { readFirstLineOfStdin } from "./prompt.js";
import { clientPassword, resolveUser, withClientOptions, type ClientOptions } from "./session.js";

interface LoginOptions extends ClientOptions {
  passwordStdin: boolean;
  tokenTtl?: number;
}

/** Adds `wharf login` and `wharf logout` (like `gh auth login` and `logout`). */
export function registerLogin(program: Command): void {
  withClientOptions(
    program
      .command("login")
      .description("log in once: ask for the password, keep a server-issued token (never the password) for every later verb")
      .option("--password-stdin", "read the password from standard input", false)
      .addOption(new Option("--token-ttl <duration>", "ask for a token that expires sooner than the server's limit (e.g. 12h, 7d)").argParser(durationOption("--token-ttl"))),
  ).action(action(async (options: LoginOptions) => {
    const user = await resolveUser(options);
    const password = options.passwordStdin ? await readFirstLineOfStdin() : await clientPassword(user);
    const conn = await connect(options.server);
    try {
      const result = await login(conn, { user, password, issueToken: true, tokenTtl: options.tokenTtl });
      if (result.token === undefined || result.expires === undefined) throw new Error("the server issued no token");
      const previous = await savedLogins.get(options.server);
      await savedLogins.set(options.server, { user: result.user, token: result.token, expires: result.expires });
      // The token it replaces is of no more use: revoke it rather than leave it live on the server.
      if (previous !== undefined) await revokeToken(conn, previous.token).catch(() => false);
      const days = asDuration(Math.max(1000, Math.round((result.expires - Date.now()) / 1000) * 1000));
      process.stdout.write(`logged in to ${options.server} as ${result.user} (token saved in ${hostsPath()}, expires in ${days})\n`);
    } finally {
      await conn.close();
    }
  }));

  program
    .command("logout")
    .description("revoke the saved login token on the server and delete it here")
    .addOption(new Option("--server <url>", "server URL").default(process.env.WHARF_SERVER ?? "tcp://127.0.0.1:9000"))
    .action(action(async (options: { server: string }) => {
      const saved = await savedLogins.delete(options.server);
      if (saved === undefined) {
        process.stdout.write(`not logged in to ${options.server}\n`);
        return;
      }
      // Deleted here first: a server that cannot be reached must not keep the token on this machine.
      const conn = await connect(options.server);
      try {
        const revoked = await revokeToken(conn, saved.token);
        process.stdout.write(`logged out of ${options.server} (${saved.user}${revoked ? "" : "; the server had already dropped the token"})\n`);
      } finally {
        await conn.close();
      }
    }));
}
