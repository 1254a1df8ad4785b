/**
 * Real processes for the chat scale tests (issue 14): `wharf serve` nodes on their own loopback addresses (the
 * shape of three machines) and `wharf chat` clients whose JSON lines are collected as they come.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { WHARF_BIN, isolatedConfigHome } from "../helpers/cli.js";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "../../src/client/index.js";
import { login } from "../../src/services/accounts/index.js";
import type { ReceivedMessage } from "../../src/services/chat/index.js";
import type { Recorder } from "../services/chat/helpers.js";

/** A running `wharf serve` node. */
export interface WharfNode {
  readonly host: string;
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGKILL: the node vanishes as in a crash. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful drain); resolves the exit code. */
  term(): Promise<number | null>;
}

/** Starts `wharf serve --host HOST --port 0 --no-udp --data DIR ARGS` and waits for its first line. */
export async function startNode(host: string, dataDir: string, args: string[]): Promise<WharfNode> {
  const child = spawn(process.execPath, [WHARF_BIN, "serve", "--host", host, "--port", "0", "--no-udp", "--data", dataDir, "--log-level", "warn", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-64 * 1024)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once("line", resolve)),
    exited.then((code) => {
      throw new Error(`wharf serve on ${host} exited (${code}) before listening: ${stderr}`);
    }),
    new Promise<string>((_, reject) => setTimeout(() => reject(new Error(`wharf serve on ${host} did not listen: ${stderr}`)), 30_000).unref()),
  ]);
  lines.on("line", () => {});
  const url = /tcp:\/\/\S+/.exec(first)?.[0];
  if (url === undefined) throw new Error(`unexpected first line: ${first}`);
  const halt = async (signal: NodeJS.Signals): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    host,
    url,
    pid: child.pid!,
    child,
    stderr: () => stderr,
    kill9: async () => {
      await halt("SIGKILL");
    },
    term: () => halt("SIGTERM"),
  };
}

/** A `wharf chat` child without a terminal: JSON lines out, lines in. */
export interface ChatCli {
  readonly child: ChildProcess;
  /** Every JSON record printed so far. */
  readonly records: Record<string, unknown>[];
  stderr(): string;
  write(line: string): void;
  /** Ends stdin (the client then waits for its own messages to come back, and exits unless --follow). */
  end(): void;
  exited: Promise<number | null>;
  /** Resolves once `check` holds on the records (polled), or rejects after `timeoutMs`. */
  until(check: (records: Record<string, unknown>[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
}

export function chatCli(args: string[], password: string): ChatCli {
  const child = spawn(process.execPath, [WHARF_BIN, "chat", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, XDG_CONFIG_HOME: isolatedConfigHome(), WHARF_PASSWORD: password },
  });
  const records: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-64 * 1024)));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr += `(not JSON on stdout) ${line}\n`;
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    records,
    stderr: () => stderr,
    write: (line) => void child.stdin!.write(`${line}\n`),
    end: () => void child.stdin!.end(),
    exited,
    async until(check, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check(records)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${stderr}`);
        if (child.exitCode !== null) throw new Error(`wharf chat exited (${child.exitCode}) before ${what}; stderr: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/**
 * Waits until a login works on a node: a node started with --redis imports the data folder's users.json into
 * Redis once Redis is reachable, in the background, so the first logins may come before the import.
 */
export async function accountsImported(url: string, user: string, password: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const conn = await connect(url);
    try {
      await login(conn, user, password);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== "E_AUTH" && code !== "E_UNAVAILABLE") || Date.now() > deadline) throw err;
    } finally {
      conn.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs a request again while it fails with E_UNAVAILABLE: on this shared 2-core machine a Redis command can miss
 * its 1 s timeout. Sends keep their clientId, so a retry is never delivered twice (what wharf chat does).
 */
export async function patiently<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await request();
    } catch (err) {
      if ((err as { code?: string }).code !== "E_UNAVAILABLE" || attempt >= 20) throw err;
      await sleep(100);
    }
  }
}

/** Each sender sends `perSender` messages (`s<sender>-<i>`) to `room`, 64 in flight at a time, patiently. */
export async function flood(senders: Recorder[], room: string, perSender: number): Promise<void> {
  await Promise.all(
    senders.map(async (sender, s) => {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < perSender) {
          const i = next++;
          const clientId = sender.client.nextClientId();
          await patiently(() => sender.client.send(room, `s${s}-${i}`, clientId));
        }
      };
      await Promise.all(Array.from({ length: 64 }, lane));
    }),
  );
}

/** Every member got the same `total` messages in one order, msgIds 1..total without a gap, none twice. */
export function assertOneOrder(received: ReceivedMessage[][], total: number): string[] {
  assert.deepEqual(received[0]!.map((m) => m.msgId), Array.from({ length: total }, (_, i) => i + 1), `msgIds 1..${total}, dense`);
  const order = received[0]!.map((m) => `${m.msgId}:${m.text}`);
  for (const r of received) {
    assert.equal(r.length, total, "none twice");
    assert.deepEqual(r.map((m) => `${m.msgId}:${m.text}`), order, "one order on every node");
  }
  return order;
}
