import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestContext } from "node:test";
import { connect, type Connection } from "../../../src/client/index.js";
import { AccountStore, login } from "../../../src/services/accounts/index.js";
import { startServe, tempDir, WHARF_BIN, type ServeProcess, isolatedConfigHome } from "../../helpers/cli.js";

/** The ids of the live (not zombie) processes whose process group is `pgid`, read from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z") members.push(Number(entry));
  }
  return members;
}

/** Waits until no process of the group is left; fails after `timeoutMs` listing the survivors. */
export async function waitGroupGone(pgid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = groupMembers(pgid);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes of group ${pgid} survived: ${left.join(", ")}`);
    await sleep(50);
  }
}

/** A `wharf serve` with users alice (may exec) and bob (may not), both with password "pw". */
export async function serveWithUsers(t: TestContext, args: string[] = []): Promise<{ serve: ServeProcess; data: string; url: string }> {
  const data = tempDir(t, "wharf-exec-");
  const store = new AccountStore(data);
  await store.add("alice", "pw", { canExec: true });
  await store.add("bob", "pw");
  const serve = await startServe(t, ["--data", data, "--no-udp", ...args]);
  return { serve, data, url: serve.url("tcp") };
}

/** A connection logged in as `user`, destroyed when the test ends. */
export async function session(t: TestContext, url: string, user = "alice"): Promise<Connection> {
  const conn = await connect(url);
  t.after(() => conn.destroy());
  await login(conn, user, "pw");
  return conn;
}

/** The options `wharf exec` needs to reach a test server as alice. */
export function execArgs(url: string, user = "alice"): string[] {
  return ["exec", "--server", url, "--user", user];
}

export const PW_ENV = { WHARF_PASSWORD: "pw" };

/**
 * Like the shared runWharf, but resolves on "close" rather than "exit": only then has all of the child's output
 * been read. (On a busy machine "exit" can come before the last stdout chunk does.)
 */
export async function runWharfFully(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [WHARF_BIN, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, XDG_CONFIG_HOME: isolatedConfigHome(), ...options.env } });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  child.stdin.on("error", () => {}); // the command may exit before it read all of its input
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 60_000);
  const [code] = await once(child, "close");
  clearTimeout(timer);
  return { code: code as number | null, stdout, stderr };
}
