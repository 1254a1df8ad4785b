/**
 * Three wharf nodes behind a real HAProxy, the shape of three machines (issue 14): nodes on 127.0.0.2, .3 and .4
 * sharing one `--data` folder, with `--proxy-protocol --trusted-proxy 127.0.0.1` (and `--redis` when asked),
 * HAProxy on 127.0.0.1 running deploy/haproxy.cfg itself, its addresses given through the WHARF_* variables.
 * Every port is a free one; everything is stopped and removed by `stop()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as netConnect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { WHARF_BIN } from "./cli.js";
import { startRedis, type RedisServer } from "./redis-server.js";
import { addUsers, isAlive, type UserSpec } from "./serve-process.js";
import { proxyV2 } from "./proxy-header.js";

/** The file HAProxy runs, as shipped. */
export const HAPROXY_CFG = fileURLToPath(new URL("../../../deploy/haproxy.cfg", import.meta.url));
const HAPROXY_BIN = process.env.HAPROXY ?? "haproxy";

/** One `wharf serve` of the cluster. */
export interface ClusterNode {
  /** "node1" .. "node3", as HAProxy names it. */
  readonly name: string;
  readonly host: string;
  readonly tcpPort: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Not exited, not killed, not a zombie. */
  alive(): boolean;
  stderr(): string;
  /** Resolves the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string | null>;
  /** GET `path` on the node's HTTP port directly, as HAProxy would (a PROXY v2 header first). */
  httpGet(path: string): Promise<{ status: number; body: string }>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Start redis-server and pass `--redis` to every node. Default false. */
  redis?: boolean;
  /** Accounts to create in the shared data folder first. */
  users?: UserSpec[];
  /** Where the shared data folder goes (e.g. /dev/shm for a 1 GiB upload); default the temp folder. */
  dataParent?: string;
  /** Extra arguments of every node's `wharf serve`. */
  nodeArgs?: string[];
}

/** A running cluster. */
export interface Cluster {
  /** `tcp://127.0.0.1:PORT` of HAProxy's wharf frontend. */
  readonly url: string;
  /** `http://127.0.0.1:PORT` of HAProxy's HTTP frontend. */
  readonly httpUrl: string;
  readonly nodes: ClusterNode[];
  readonly dataDir: string;
  readonly redis: RedisServer | null;
  readonly haproxy: ChildProcess;
  /** HAProxy's view of each node of the wharf backend: "UP", "DOWN", "UP 1/2", "NOLB", "MAINT", ... */
  serverStatus(): Promise<Map<string, string>>;
  /** Sends one command to HAProxy's admin socket (`disable server wharf_nodes/node3`); resolves its answer. */
  admin(command: string): Promise<string>;
  /** Polls until `name`'s status matches, for up to `timeoutMs`. */
  waitForStatus(name: string, status: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP port free on `host` now (the OS's pick; a race with another process is unlikely and fails loudly). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function killAndWait(child: ChildProcess, graceMs: number): Promise<void> {
  // A child that never started (spawn failed: no pid) has no exit to wait for.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

async function startNode(name: string, host: string, dataDir: string, extra: string[]): Promise<ClusterNode> {
  const args = [WHARF_BIN, "serve", "--host", host, "--port", "0", "--http-port", "0", "--no-udp", "--data", dataDir, "--log-level", "warn", "--proxy-protocol", "--trusted-proxy", "127.0.0.1", ...extra];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-256 * 1024)));
  const exited = once(child, "exit").then(([code, signal]) => (code as number | null) ?? (signal as string | null));
  const lines = createInterface({ input: child.stdout! });
  const giveUp = new AbortController();
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once("line", resolve)),
    exited.then((code) => Promise.reject(new Error(`${name} exited (${code}) before listening: ${stderr}`))),
    sleep(30_000, undefined, { signal: giveUp.signal }).then(() => Promise.reject(new Error(`${name} did not listen within 30 s: ${stderr}`))),
  ]).finally(() => giveUp.abort());
  lines.on("line", () => {});
  const tcp = /tcp:\/\/[^\s]+:(\d+)/.exec(first);
  const http = /http:\/\/[^\s]+:(\d+)/.exec(first);
  if (tcp === null || http === null) {
    child.kill("SIGKILL");
    throw new Error(`unexpected first line of ${name}: ${first}`);
  }
  const httpPort = Number(http[1]);
  return {
    name,
    host,
    tcpPort: Number(tcp[1]),
    httpPort,
    child,
    pid: child.pid!,
    alive: () => isAlive(child),
    stderr: () => stderr,
    exited,
    httpGet: (path) => proxiedGet(host, httpPort, path),
  };
}

/** A GET as HAProxy sends it to a node: a PROXY v2 header (the test as the client), then HTTP/1.1. */
export async function proxiedGet(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  const socket = netConnect({ host, port });
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.write(Buffer.concat([proxyV2("127.0.0.1", host, 40_000, port), Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)]));
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const timer = setTimeout(() => socket.destroy(), 10_000);
  await once(socket, "close");
  clearTimeout(timer);
  const text = Buffer.concat(chunks).toString();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const head = text.indexOf("\r\n\r\n");
  return { status, body: head === -1 ? "" : text.slice(head + 4) };
}

async function adminCommand(socketPath: string, command: string): Promise<string> {
  const socket = netConnect(socketPath);
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.end(`${command}\n`);
  let text = "";
  socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
  await once(socket, "close");
  return text;
}

/** `show stat` on HAProxy's admin socket: the status column of each server of `backend`. */
async function showStat(socketPath: string, backend: string): Promise<Map<string, string>> {
  const text = await adminCommand(socketPath, "show stat");
  const [header, ...rows] = text.trim().split("\n");
  const columns = (header ?? "").replace(/^# /, "").split(",");
  const at = (name: string): number => columns.indexOf(name);
  const status = new Map<string, string>();
  for (const row of rows) {
    const cells = row.split(",");
    if (cells[at("pxname")] === backend && cells[at("svname")]?.startsWith("node")) status.set(cells[at("svname")]!, cells[at("status")] ?? "");
  }
  return status;
}

/**
 * Starts redis (if asked), three nodes and HAProxy; resolves once HAProxy sees every node UP.
 *
 * @example
 * ```ts
 * const cluster = await startCluster({ users: [{ name: "alice", password: "pw" }] });
 * t.after(() => cluster.stop());
 * const conn = await connect(cluster.url);
 * ```
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const work = mkdtempSync(join(tmpdir(), "wharf-cluster-"));
  const dataDir = mkdtempSync(join(options.dataParent ?? tmpdir(), "wharf-cluster-data-"));
  const nodes: ClusterNode[] = [];
  let redis: RedisServer | null = null;
  let haproxy: ChildProcess | null = null;
  let haproxyErr = "";
  const stop = async (): Promise<void> => {
    try {
      await Promise.allSettled([...(haproxy ? [killAndWait(haproxy, 3_000)] : []), ...nodes.map((node) => killAndWait(node.child, 5_000))]);
      await redis?.dispose();
    } finally {
      // The folders go whatever failed above (a missing haproxy or redis-server left the data folder behind).
      rmSync(work, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  try {
    if (options.users !== undefined) await addUsers(dataDir, options.users);
    const extra = [...(options.nodeArgs ?? [])];
    if (options.redis === true) {
      redis = await startRedis();
      extra.push("--redis", redis.url);
    }
    const hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    // One after another: three processes starting at once on two cores only take longer each.
    for (const [i, host] of hosts.entries()) nodes.push(await startNode(`node${i + 1}`, host, dataDir, extra));
    const socketPath = join(work, "haproxy.sock");
    const port = await freePort();
    const httpPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      WHARF_LB_HOST: "127.0.0.1",
      WHARF_LB_PORT: String(port),
      WHARF_LB_HTTP_PORT: String(httpPort),
      WHARF_HAPROXY_SOCKET: socketPath,
      WHARF_CHECK_INTER: "250ms",
      WHARF_LB_MAXCONN: "2000",
    };
    nodes.forEach((node, i) => {
      env[`WHARF_NODE${i + 1}_HOST`] = node.host;
      env[`WHARF_NODE${i + 1}_PORT`] = String(node.tcpPort);
      env[`WHARF_NODE${i + 1}_HTTP_PORT`] = String(node.httpPort);
    });
    haproxy = spawn(HAPROXY_BIN, ["-db", "-f", HAPROXY_CFG], { env, stdio: ["ignore", "ignore", "pipe"] });
    haproxy.stderr!.setEncoding("utf8").on("data", (text: string) => (haproxyErr = (haproxyErr + text).slice(-64 * 1024)));
    const proxy = haproxy;
    const cluster: Cluster = {
      url: `tcp://127.0.0.1:${port}`,
      httpUrl: `http://127.0.0.1:${httpPort}`,
      nodes,
      dataDir,
      redis,
      haproxy: proxy,
      serverStatus: () => showStat(socketPath, "wharf_nodes"),
      admin: (command) => adminCommand(socketPath, command),
      async waitForStatus(name, status, timeoutMs = 15_000) {
        const deadline = Date.now() + timeoutMs;
        let seen: string | undefined;
        for (;;) {
          if (!isAlive(proxy)) throw new Error(`haproxy exited: ${haproxyErr}`);
          seen = (await showStat(socketPath, "wharf_nodes").catch(() => new Map<string, string>())).get(name);
          if (seen !== undefined && status.test(seen)) return;
          if (Date.now() > deadline) throw new Error(`${name} is ${seen ?? "unknown"} to haproxy, not ${status} after ${timeoutMs} ms; haproxy says: ${haproxyErr}`);
          await sleep(50);
        }
      },
      stop,
    };
    for (const node of nodes) await cluster.waitForStatus(node.name, /^UP$/, 20_000);
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}
