/**
 * A real `wharf serve` child for the hostile-input tests (issue 11), with what those tests measure of it: whether
 * it is alive (a zombie counts as dead), its RSS, its open fds, and its stderr for failure messages.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import type { ServeOptions } from "../../src/cli/serve-lifecycle.js";
import { AccountStore } from "../../src/services/accounts/index.js";
import { WHARF_BIN } from "./cli.js";

/** An account to create before the server starts. */
export interface UserSpec {
  name: string;
  password: string;
  canExec?: boolean;
}

/**
 * Creates users in a data folder with the store `wharf user add` uses (in-process: a CLI process per user costs
 * about a second on a loaded machine, and the chat flood needs a dozen users).
 */
export async function addUsers(dataDir: string, users: UserSpec[]): Promise<void> {
  const store = new AccountStore(dataDir);
  // users.json is rewritten whole on each add: adds to one folder run one after another.
  for (const user of users) await store.add(user.name, user.password, { canExec: user.canExec === true });
}

/**
 * Adds users that share `template`'s password and rights by copying its record in users.json under other names:
 * one scrypt hash instead of one per user (a dozen hashes take seconds on a loaded machine).
 */
export function cloneUser(dataDir: string, template: string, names: string[]): void {
  const path = join(dataDir, "users.json");
  const file = JSON.parse(readFileSync(path, "utf8")) as { version: 1; users: { name: string }[] };
  const record = file.users.find((user) => user.name === template);
  if (record === undefined) throw new Error(`no user ${template} in ${path}`);
  for (const name of names) file.users.push({ ...record, name });
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
}

/** Creates one user with the real CLI, `wharf user add NAME --password-stdin [--can-exec]`. */
export async function addUserWithCli(dataDir: string, user: UserSpec): Promise<void> {
  const args = [WHARF_BIN, "user", "add", user.name, "--data", dataDir, "--password-stdin"];
  if (user.canExec === true) args.push("--can-exec");
  const child = spawn(process.execPath, args, { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(`${user.password}\n`);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [code] = await once(child, "close");
  clearTimeout(timer);
  if (code !== 0) throw new Error(`wharf user add ${user.name} failed (${String(code)}): ${stderr}`);
}

/** Options of {@link startWharfServe}. */
export interface StartServeOptions {
  /** Extra arguments of `wharf serve`. */
  args?: string[];
  /**
   * Pass `--rpc-demo`. If this build does not know the flag yet (before issue 11), start without it: the demo
   * methods are then registered by default. `rpcDemoFlag` tells which happened.
   */
  rpcDemo?: boolean;
  /** Accounts to create first (or copy `usersFrom`'s users.json). */
  users?: UserSpec[];
  /** A data folder whose users.json is copied: cheaper than creating the same users again. */
  usersFrom?: string;
  timeoutMs?: number;
}

/** A running `wharf serve` child. */
export interface WharfServe {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly host: string;
  readonly tcpPort: number;
  readonly udpPort: number;
  readonly tcpUrl: string;
  readonly udpUrl: string;
  readonly dataDir: string;
  /** True when `--rpc-demo` was accepted; false when it was asked for but this build does not know it. */
  readonly rpcDemoFlag: boolean;
  stderr(): string;
  /** Not exited, not killed, and not a zombie. */
  alive(): boolean;
  /** Resident set size in bytes (VmRSS), or null once the process is gone. */
  rssBytes(): number | null;
  /** Open file descriptors, or null once the process is gone. */
  fdCount(): number | null;
  /** SIGTERM, SIGKILL after `graceMs`; removes the data folder. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** The state letter of /proc/<pid>/stat (R, S, D, Z, ...), or null when the process is gone. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? null;
  } catch {
    return null;
  }
}

/** True while a child runs: no exit code, no signal, and /proc does not show it as a zombie. */
export function isAlive(child: ChildProcess): boolean {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return false;
  const state = procState(child.pid);
  return state !== null && state !== "Z" && state !== "X";
}

/** VmRSS of a process in bytes, or null. */
export function rssOf(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** Open file descriptors of a process, or null. */
export function fdCountOf(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Polls `fdCount` until it is at most `limit`, for up to `timeoutMs`; resolves the last count. */
export async function fdsSettle(serve: WharfServe, limit: number, timeoutMs = 3_000): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  let count = serve.fdCount();
  while (count !== null && count > limit && Date.now() < deadline) {
    await sleep(100);
    count = serve.fdCount();
  }
  return count;
}

class StartFailure extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
  }
}

/** Starts `wharf serve --port 0 --udp-port 0` on 127.0.0.1 with a fresh data folder. */
export async function startWharfServe(options: StartServeOptions = {}): Promise<WharfServe> {
  const dataDir = mkdtempSync(join(tmpdir(), "wharf-hostile-"));
  try {
    if (options.usersFrom !== undefined) {
      const text = readFileSync(join(options.usersFrom, "users.json"));
      writeFileSync(join(dataDir, "users.json"), text);
    }
    if (options.users !== undefined && options.users.length > 0) await addUsers(dataDir, options.users);
    const base = options.args ?? [];
    if (options.rpcDemo === true) {
      try {
        return await spawnServe(dataDir, [...base, "--rpc-demo"], true, options.timeoutMs);
      } catch (err) {
        if (!(err instanceof StartFailure) || !/unknown option '--rpc-demo'/.test(err.stderr)) throw err;
      }
      return await spawnServe(dataDir, base, false, options.timeoutMs);
    }
    return await spawnServe(dataDir, base, false, options.timeoutMs);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function spawnServe(dataDir: string, extra: string[], rpcDemoFlag: boolean, timeoutMs = 20_000): Promise<WharfServe> {
  const args = [WHARF_BIN, "serve", "--host", "127.0.0.1", "--port", "0", "--udp-port", "0", "--log-level", "warn", "--data", dataDir, ...extra];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    // Bounded: a server that logs without end must not exhaust the test's memory.
    stderr = (stderr + text).slice(-256 * 1024);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async (graceMs: number): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  let first: string;
  try {
    first = await Promise.race([
      new Promise<string>((resolve) => lines.once("line", resolve)),
      exited.then(() => {
        throw new StartFailure(`wharf serve ${extra.join(" ")} exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr}`, stderr);
      }),
      new Promise<string>((_, reject) => {
        timer = setTimeout(() => reject(new StartFailure(`wharf serve did not listen within ${timeoutMs} ms: ${stderr}`, stderr)), timeoutMs);
      }),
    ]);
  } catch (err) {
    await kill(1_000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so that the child never blocks on a full pipe.
  lines.on("line", () => {});
  const tcpUrl = /tcp:\/\/\S+/.exec(first)?.[0];
  const udpUrl = /udp:\/\/\S+/.exec(first)?.[0];
  if (tcpUrl === undefined || udpUrl === undefined) {
    await kill(1_000);
    throw new Error(`unexpected first line of wharf serve: ${first}`);
  }
  const pid = child.pid!;
  let stopping: Promise<void> | null = null;
  return {
    child,
    pid,
    host: "127.0.0.1",
    tcpPort: Number(new URL(tcpUrl).port),
    udpPort: Number(new URL(udpUrl).port),
    tcpUrl,
    udpUrl,
    dataDir,
    rpcDemoFlag,
    stderr: () => stderr,
    alive: () => isAlive(child),
    rssBytes: () => rssOf(pid),
    fdCount: () => fdCountOf(pid),
    stop(graceMs = 5_000) {
      stopping ??= kill(graceMs).finally(() => rmSync(dataDir, { recursive: true, force: true }));
      return stopping;
    },
  };
}

/**
 * `wharf serve`'s options with its real defaults, as its own command line parser makes them from `args` (e.g.
 * `["--data", dir, "--rpc-demo"]`): for building the same server in-process with `buildServer()`. Options this
 * build does not know are dropped (and named in `unknown`), so the caller can tell.
 */
export async function serveOptionsFor(args: string[]): Promise<{ options: ServeOptions; unknown: string[] }> {
  const { registerServe } = await import("../../src/cli/serve.js");
  const unknown: string[] = [];
  let rest = [...args];
  for (;;) {
    const program = new Command("wharf").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerServe(program);
    const serve = program.commands.find((command) => command.name() === "serve")!;
    serve.exitOverride();
    let captured: ServeOptions | null = null;
    serve.action((opts: ServeOptions) => {
      captured = opts;
    });
    try {
      await program.parseAsync(["node", "wharf", "serve", ...rest]);
    } catch (err) {
      const flag = /unknown option '([^']+)'/.exec((err as Error).message)?.[1];
      if (flag === undefined || !rest.includes(flag)) throw err;
      unknown.push(flag);
      rest = rest.filter((arg) => arg !== flag);
      continue;
    }
    if (captured === null) throw new Error("wharf serve's action did not run");
    const options = captured as ServeOptions;
    return { options: { ...options, host: options.host ?? ["127.0.0.1"] }, unknown };
  }
}
