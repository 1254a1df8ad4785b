import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { connect } from "../../src/client/index.js";
import { FileTokenStore, hashToken, login, revokeToken } from "../../src/services/accounts/index.js";
import { WharfError } from "../../src/wire/index.js";
import { WHARF_BIN, runWharf, startServe, tempDir } from "../helpers/cli.js";
import { dataWithUsers } from "../services/files/helpers.js";

const PTY_RUN = fileURLToPath(new URL("../../../test/helpers/pty_run.py", import.meta.url));

interface Saved {
  user: string;
  token: string;
  expires: number;
}

/** A server with user alice (password "pw"), and a config folder of its own. */
async function setup(t: TestContext, serveArgs: string[] = []): Promise<{ url: string; data: string; config: string; env: NodeJS.ProcessEnv }> {
  const data = await dataWithUsers(t);
  const url = (await startServe(t, ["--data", data, "--no-udp", ...serveArgs])).url("tcp");
  const config = tempDir(t, "wharf-config-");
  // No WHARF_PASSWORD: a verb that works after login must have used the saved token.
  return { url, data, config, env: { XDG_CONFIG_HOME: config, WHARF_PASSWORD: undefined, WHARF_USER: undefined } };
}

function savedLogin(config: string, url: string): Saved {
  return (JSON.parse(readFileSync(join(config, "wharf", "hosts.json"), "utf8")) as { servers: Record<string, Saved> }).servers[url];
}

describe("wharf login and logout", () => {
  test("login keeps a token, never the password, in $XDG_CONFIG_HOME/wharf (0600), and later verbs need no password", async (t) => {
    const { url, data, config, env } = await setup(t);
    const loggedIn = await runWharf(["login", "--server", url, "--user", "alice", "--password-stdin"], { input: "pw\n", env });
    assert.equal(loggedIn.code, 0, loggedIn.stderr);
    assert.match(loggedIn.stdout, /^logged in to tcp:\/\/\S+ as alice \(token saved in .*hosts\.json, expires in 30d\)\n$/);
    const file = join(config, "wharf", "hosts.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(config, "wharf")).mode & 0o777, 0o700);
    assert.doesNotMatch(readFileSync(file, "utf8"), /"pw"/);
    const saved = savedLogin(config, url);
    assert.equal(saved.user, "alice");
    assert.match(saved.token, /^wharf_[A-Za-z0-9_-]{43}$/, "256 random bits");
    // The server keeps only the token's hash.
    const onServer = readFileSync(join(data, "tokens.json"), "utf8");
    assert.doesNotMatch(onServer, new RegExp(saved.token));
    assert.match(onServer, new RegExp(hashToken(saved.token)));
    // --user is not needed either: the saved login names it.
    const ls = await runWharf(["ls", "--server", url], { env });
    assert.equal(ls.code, 0, ls.stderr);
    const sessions = await runWharf(["user", "sessions", "alice", "--data", data, "--json"]);
    assert.equal(sessions.code, 0, sessions.stderr);
    const [session] = sessions.stdout.trim().split("\n").map((line) => JSON.parse(line) as { id: string; expires: number; created: number });
    assert.equal(session.id, hashToken(saved.token).slice(0, 12));
    assert.equal(session.expires, saved.expires);
    assert.ok(Math.abs(session.expires - session.created - 30 * 86_400_000) < 1000);
  });

  test("logout revokes the token on the server and deletes it here", async (t) => {
    const { url, data, config, env } = await setup(t);
    assert.equal((await runWharf(["login", "--server", url, "--user", "alice", "--password-stdin"], { input: "pw\n", env })).code, 0);
    const { token } = savedLogin(config, url);
    const out = await runWharf(["logout", "--server", url], { env });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, `logged out of ${url} (alice)\n`);
    assert.equal(savedLogin(config, url), undefined);
    assert.equal(await new FileTokenStore(data).find(hashToken(token)), undefined);
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await assert.rejects(login(conn, { token }), (err: unknown) => err instanceof WharfError && err.code === "E_AUTH");
    const after = await runWharf(["ls", "--server", url, "--user", "alice"], { env });
    assert.equal(after.code, 1);
    assert.equal(after.stderr, "wharf: E_AUTH: no password: run wharf login, set WHARF_PASSWORD, or run on a terminal to be asked\n");
  });

  test("user revoke drops all of a user's tokens, and a verb then says to log in again", async (t) => {
    const { url, data, config, env } = await setup(t);
    assert.equal((await runWharf(["login", "--server", url, "--user", "alice", "--password-stdin"], { input: "pw\n", env })).code, 0);
    const other = tempDir(t, "wharf-config-");
    assert.equal((await runWharf(["login", "--server", url, "--user", "alice", "--password-stdin"], { input: "pw\n", env: { ...env, XDG_CONFIG_HOME: other } })).code, 0);
    assert.equal((await runWharf(["user", "sessions", "alice", "--data", data])).stdout.trim().split("\n").length, 2);
    const revoked = await runWharf(["user", "revoke", "alice", "--data", data]);
    assert.equal(revoked.stdout, "revoked 2 login tokens of alice\n");
    assert.equal((await runWharf(["user", "sessions", "alice", "--data", data])).stdout, "");
    const ls = await runWharf(["ls", "--server", url], { env });
    assert.equal(ls.code, 1);
    assert.equal(ls.stderr, `wharf: E_AUTH: the saved login for ${url} was refused (expired or revoked): run wharf login again\n`);
    assert.ok(savedLogin(config, url) !== undefined);
  });

  test("a token expires: login --token-ttl asks for less than the server's --token-ttl, which caps it", async (t) => {
    const { url, config, env } = await setup(t, ["--token-ttl", "1h"]);
    const long = await runWharf(["login", "--server", url, "--user", "alice", "--password-stdin", "--token-ttl", "30d"], { input: "pw\n", env });
    assert.match(long.stdout, /expires in 1h\)/);
    const short = await runWharf(["login", "--server", url, "--user", "alice", "--password-stdin", "--token-ttl", "1s"], { input: "pw\n", env });
    assert.equal(short.code, 0, short.stderr);
    const { token } = savedLogin(config, url);
    await sleep(1_200);
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await assert.rejects(login(conn, { token }), (err: unknown) => err instanceof WharfError && err.code === "E_AUTH" && /expired/.test(err.message));
  });

  test("auth takes {token} over the wire; auth.revoke needs only the token; a password login still works beside it", async (t) => {
    const { url } = await setup(t);
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const issued = await login(conn, { user: "alice", password: "pw", issueToken: true, tokenTtl: 60_000 });
    assert.equal(issued.user, "alice");
    assert.ok(Number.isSafeInteger(issued.expires) && issued.expires! - Date.now() <= 60_000);
    const second = await connect(url);
    t.after(() => second.destroy());
    assert.deepEqual(await login(second, { token: issued.token! }), { user: "alice", canExec: false });
    assert.equal(await revokeToken(second, issued.token!), true);
    assert.equal(await revokeToken(second, issued.token!), false);
    assert.deepEqual(await login(second, "alice", "pw"), { user: "alice", canExec: false });
  });

  test("on a terminal, login asks for the password once without echoing it", async (t) => {
    const { url, config } = await setup(t);
    const { WHARF_PASSWORD: _password, WHARF_USER: _user, ...inherited } = process.env;
    const run = spawnSync("python3", [PTY_RUN, JSON.stringify([["Password for alice", "pw"]]), process.execPath, WHARF_BIN, "login", "--server", url, "--user", "alice"], {
      encoding: "utf8",
      env: { ...inherited, XDG_CONFIG_HOME: config },
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Password for alice: /);
    assert.doesNotMatch(run.stdout, /: pw/);
    assert.equal(savedLogin(config, url).user, "alice");
  });
});
