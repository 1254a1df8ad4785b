/**
 * `wharf serve --redis` nodes for the scale tests (issue 14): real child processes on their own loopback
 * addresses (127.0.0.2, 127.0.0.3, ...: the shape of several machines), sharing one data folder and one Redis.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { WHARF_BIN } from "./cli.js";

/** A running node. */
export interface WharfNode {
  readonly host: string;
  readonly tcpUrl: string;
  readonly udpUrl: string;
  readonly child: ChildProcess;
  /** Everything it logged on stderr so far (JSON lines), bounded. */
  log(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; waits for the exit. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `wharf serve --host HOST --port 0 --udp-port 0 --data DATA --redis URL` and resolves once it printed its
 * addresses. A build that serves HTTP by default gets `--no-http` (three nodes cannot share one HTTP port);
 * a build that does not know the flag is started without it.
 */
export async function startRedisNode(host: string, dataDir: string, redisUrl: string, extra: string[] = []): Promise<WharfNode> {
  const base = ["serve", "--host", host, "--port", "0", "--udp-port", "0", "--data", dataDir, "--redis", redisUrl, "--log-level", "info", ...extra];
  try {
    return await spawnNode(host, [...base, "--no-http"]);
  } catch (err) {
    if (!/unknown option '--no-http'/.test((err as Error).message)) throw err;
    return spawnNode(host, base);
  }
}

async function spawnNode(host: string, args: string[]): Promise<WharfNode> {
  const child = spawn(process.execPath, [WHARF_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-512 * 1024)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once("line", resolve)),
    exited.then(() => {
      throw new Error(`wharf serve ${args.join(" ")} exited before listening: ${stderr}`);
    }),
    new Promise<string>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`wharf serve did not listen within 30 s: ${stderr}`)), 30_000);
    }),
  ]).finally(() => clearTimeout(timer)).catch(async (err: unknown) => {
    child.kill("SIGKILL");
    await exited;
    throw err;
  });
  lines.on("line", () => {});
  const tcpUrl = /tcp:\/\/\S+/.exec(first)?.[0];
  const udpUrl = /udp:\/\/\S+/.exec(first)?.[0];
  if (tcpUrl === undefined || udpUrl === undefined) {
    child.kill("SIGKILL");
    throw new Error(`unexpected first line of wharf serve: ${first}`);
  }
  let stopping: Promise<void> | null = null;
  return {
    host,
    tcpUrl,
    udpUrl,
    child,
    log: () => stderr,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(kill);
      })();
      return stopping;
    },
  };
}
