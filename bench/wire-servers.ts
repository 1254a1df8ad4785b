/**
 * The servers the wire benchmark compares (issue 3), each run as a child process on a free port. Every one
 * prints `... listening on tcp://HOST:PORT ...` as its first stdout line.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** How to start one server. */
export interface ServerSpec {
  /** Short name used in the table. */
  name: string;
  command: string;
  args: string[];
}

/** A started server. */
export interface RunningServer {
  spec: ServerSpec;
  /** The process id (with --workers N, of the cluster primary). */
  pid: number;
  host: string;
  port: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

// This file is compiled to dist/bench/; the CLI to dist/src/cli/; the Python baseline is not compiled.
const WHARF_CLI = fileURLToPath(new URL("../bin/wharf.cjs", import.meta.url));
const NET_SERVER = fileURLToPath(new URL("./baselines/net-server.js", import.meta.url));
const PY_SERVER = fileURLToPath(new URL("../../bench/baselines/py_server.py", import.meta.url));

const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/**
 * The servers of the benchmark. `profileDir` adds `--cpu-prof` to the wharf children (a .cpuprofile per process
 * is written there when they exit); `dataDir` is wharf's data folder.
 */
export function serverSpecs(options: { dataDir: string; profileDir?: string; python: boolean }): ServerSpec[] {
  const nodeFlags = options.profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options.profileDir];
  const wharf = (workers: number): ServerSpec => ({
    name: workers === 1 ? "wharf" : `wharf ${workers}w`,
    command: process.execPath,
    args: [...nodeFlags, WHARF_CLI, "serve", "--port", "0", "--no-udp", "--workers", String(workers), "--log-level", "warn", "--data", options.dataDir],
  });
  const specs = [wharf(1), wharf(2), { name: "node:net", command: process.execPath, args: [NET_SERVER, "--port", "0"] }];
  if (options.python) specs.push({ name: "python", command: "python3", args: [PY_SERVER, "0"] });
  return specs;
}

/** True when `python3` can be run. */
export function havePython(): boolean {
  return spawnSync("python3", ["--version"]).error === undefined;
}

/** Starts a server and resolves once it has announced its address. */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const child = spawn(spec.command, spec.args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    // Only the tail is kept: enough to explain a failure, bounded however chatty the server is.
    stderr = (stderr + text).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  try {
    const line = await firstLine(child);
    const match = /listening on tcp:\/\/(\[[^\]]+\]|[^\s:]+):(\d+)/.exec(line);
    if (match === null) throw new Error(`unexpected first line ${JSON.stringify(line)}`);
    return { spec, pid: child.pid as number, host: match[1].replace(/^\[|\]$/g, ""), port: Number(match[2]), stop };
  } catch (err) {
    await stop();
    throw new Error(`${spec.name} did not start: ${(err as Error).message}\n${stderr}`);
  }
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: string): void => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end >= 0) finish(null, text.slice(0, end));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`exited (${code ?? signal}) before printing its address`));
    const timer = setTimeout(() => finish(new Error(`no address within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const finish = (err: Error | null, line = ""): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.stdout?.resume(); // keep draining, so the child never blocks on a full pipe
      if (err === null) resolve(line);
      else reject(err);
    };
    child.stdout?.setEncoding("utf8").on("data", onData);
    child.once("exit", onExit);
  });
}
