/**
 * A real `redis-server` for tests (issue 14): started on 127.0.0.1 and a free port, in its own temp folder, with
 * `--save ""` and, by default, `appendonly yes` + `appendfsync always` (what docs/scale.md asks of production).
 * It can be stopped, killed and restarted on the same port and folder (the append-only file carries the data
 * over a restart). The folder is removed by {@link RedisServer.dispose} or, at the latest, when the test process
 * exits; a server still running then is killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** `appendonly yes` with `appendfsync always` (default true); false: no persistence at all. */
  appendonly?: boolean;
  /** Folder for Redis's files; default: a new temp folder (removed on dispose). A given folder is left in place. */
  dir?: string;
  /** Longest wait for "Ready to accept connections", ms. Default 15,000. */
  timeoutMs?: number;
}

/** A running (or stopped) redis-server of a test. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Its folder (append-only file and log). */
  readonly dir: string;
  /** The process id while running, else null. */
  readonly pid: number | null;
  /** SIGTERM (Redis flushes its append-only file), waits for the exit. Keeps the folder for {@link restart}. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, waits for the exit: what a crash loses. Idempotent. */
  kill(): Promise<void>;
  /** Stops it if it runs, then starts it again on the same port and folder; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Stops it and removes its temp folder. Idempotent. */
  dispose(): Promise<void>;
}

const REDIS_BIN = process.env.REDIS_SERVER ?? "redis-server";
const cleanups = new Set<() => void>();
let exitHooked = false;

/**
 * Starts a real redis-server. Ports are taken from the OS (port 0) just before the start; a start that loses the
 * port to someone else is retried on another.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * after(() => redis.dispose());
 * // wharf serve --redis redis.url ...
 * ```
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "wharf-redis-"));
  const appendonly = options.appendonly ?? true;
  const timeoutMs = options.timeoutMs ?? 15_000;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  let disposed = false;

  const launch = async (): Promise<void> => {
    const args = [
      "--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--save", "", "--daemonize", "no",
      "--protected-mode", "no", "--logfile", "", "--loglevel", "notice",
      ...(appendonly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    ];
    const proc = spawn(REDIS_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let earlyExit: ((code: number | null, signal: string | null) => void) | null = null;
    const done = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`redis-server did not get ready within ${timeoutMs} ms: ${output}`)), timeoutMs);
      const onData = (text: string): void => {
        output = (output + text).slice(-16 * 1024);
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      const fail = (err: Error): void => {
        clearTimeout(timer);
        proc.kill("SIGKILL");
        reject(err);
      };
      proc.stdout!.setEncoding("utf8").on("data", onData);
      proc.stderr!.setEncoding("utf8").on("data", onData);
      proc.once("error", fail);
      const onEarlyExit = (code: number | null, signal: string | null): void => fail(Object.assign(new Error(`redis-server exited (${code ?? signal}) before it was ready: ${output}`), { output }));
      proc.once("exit", onEarlyExit);
      earlyExit = onEarlyExit;
    });
    // Keep draining its output so that it never blocks on a full pipe; unref'd, so that a server a test forgot
    // to dispose of does not keep the test process alive (the exit hook then kills it and removes its folder).
    proc.stdout!.removeAllListeners("data").resume();
    proc.stderr!.removeAllListeners("data").resume();
    (proc.stdout as Socket).unref();
    (proc.stderr as Socket).unref();
    proc.unref();
    if (earlyExit !== null) proc.off("exit", earlyExit);
    child = proc;
    exited = done.then(() => {
      if (child === proc) child = null;
    });
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (proc === null) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const cleanup = (): void => {
    const proc = child as ChildProcess | null;
    proc?.kill("SIGKILL");
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => {
      for (const fn of cleanups) fn();
    });
  }

  for (let attempt = 1; ; attempt += 1) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      const lostPort = /Address already in use|bind/i.test(String((err as { output?: string }).output ?? ""));
      if (!lostPort || attempt >= 5) {
        cleanups.delete(cleanup);
        cleanup();
        throw err;
      }
    }
  }

  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return (child as ChildProcess | null)?.pid ?? null;
    },
    stop: () => halt("SIGTERM"),
    kill: () => halt("SIGKILL"),
    async restart() {
      if (disposed) throw new Error("this redis-server was disposed");
      await halt("SIGTERM");
      await launch();
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await halt("SIGTERM");
      cleanups.delete(cleanup);
      cleanup();
    },
  };
  return server;
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
