/**
 * Issue 14's scale benchmark, on this one machine (2 cores): what going through HAProxy and Redis costs.
 *
 * 1. ping through HAProxy (three nodes, PROXY v2) against ping straight to one node: requests/s, p50, ratio.
 * 2. chat fan-out, 1 sender to 100 members spread over the nodes by HAProxy (leastconn), at 1, 2 and 3 nodes
 *    with `--redis`, against one process without Redis: messages/s, deliveries/s, p50/p99, the nodes' CPU per
 *    message and Redis commands per message (Redis's own `total_commands_processed`).
 *
 * On two cores more nodes cannot mean more speed: the point is the cost per message of the shared path.
 * The chat part needs `wharf serve --redis` (issue 14's shared chat); without it, it says so and is skipped.
 *
 * Environment: WHARF_BENCH_QUICK=1 for a short run; WHARF_BENCH_MESSAGES (chat messages per run).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { connect, type Connection } from "../src/client/index.js";
import { WHARF_BIN } from "../test/helpers/cli.js";
import { startCluster, type Cluster } from "../test/helpers/cluster.js";
import { addUsers } from "../test/helpers/serve-process.js";
import { runChatLoad, type ChatLoadResult } from "./chat-load.js";
import { treeCpuMicros } from "./wire-cpu.js";

const env = process.env;
const quick = process.argv.includes("--quick") || env.WHARF_BENCH_QUICK === "1";
const pingSeconds = quick ? 1.5 : 4;
const messages = Number(env.WHARF_BENCH_MESSAGES ?? (quick ? 1_000 : 3_000));
const USER = { name: "bench", password: "pw" };

/** Ping load: `connections` connections, each keeping `depth` requests in flight, for `seconds`. */
async function pingLoad(url: string, seconds: number, connections = 16, depth = 8): Promise<{ rps: number; p50Ms: number }> {
  const conns: Connection[] = [];
  for (let i = 0; i < connections; i += 1) conns.push(await connect(url));
  const latencies: number[] = [];
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const body = Buffer.alloc(64, 1);
  const lane = async (conn: Connection): Promise<void> => {
    while (performance.now() < until) {
      const t0 = performance.now();
      await conn.request("ping", {}, body);
      latencies.push(performance.now() - t0);
      done += 1;
    }
  };
  const started = performance.now();
  await Promise.all(conns.flatMap((conn) => Array.from({ length: depth }, () => lane(conn))));
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(conns.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  return { rps: done / elapsed, p50Ms: latencies[Math.floor(latencies.length / 2)] ?? NaN };
}

/**
 * The one-process baseline: `wharf serve` (no balancer, no Redis) on 127.0.0.5 for ping, or issue 7's chat server
 * (bench/chat-server.ts: the same chat service, its rate limit lifted) for chat.
 */
async function startPlain(kind: "serve" | "chat"): Promise<{ url: string; pid: number; child: ChildProcess; stop(): Promise<void> }> {
  const data = mkdtempSync(join(tmpdir(), "wharf-bench-scale-"));
  await addUsers(data, [USER]);
  const args =
    kind === "serve"
      ? [WHARF_BIN, "serve", "--host", "127.0.0.5", "--port", "0", "--no-udp", "--no-http", "--data", data, "--log-level", "warn"]
      : [fileURLToPath(new URL("./chat-server.js", import.meta.url)), "--data", data];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`wharf serve exited (${code}) before listening`)));
  });
  const url = /tcp:\/\/\S+/.exec(line)![0];
  return {
    url,
    pid: child.pid!,
    child,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Whether this build's `wharf serve` has `flag` (the shared chat and its rate flag come with other branches). */
function serveKnows(flag: string): boolean {
  const help = spawnSync(process.execPath, [WHARF_BIN, "serve", "--help"], { encoding: "utf8" });
  return new RegExp(`${flag}\\b`).test(help.stdout);
}

async function redisCommands(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  const info = await client.info("stats");
  client.disconnect();
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

interface ChatRow {
  label: string;
  result: ChatLoadResult | null;
  note?: string;
  cpuUsPerMessage: number;
  redisPerMessage: number | null;
}

/** One chat run with a deadline: a run whose rooms are not shared across nodes never completes. */
async function chatRun(host: string, port: number, pids: number[], redisUrl: string | null): Promise<Omit<ChatRow, "label">> {
  let cpuStart = 0;
  let cpuEnd = 0;
  const cpu = (): number => pids.reduce((sum, pid) => sum + treeCpuMicros(pid), 0);
  const redisBefore = redisUrl === null ? 0 : await redisCommands(redisUrl);
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      runChatLoad({ host, port, members: 100, warmup: 200, messages, window: 32, bodySize: 64, onMeasure: (phase) => (phase === "start" ? (cpuStart = cpu()) : (cpuEnd = cpu())) }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("did not complete in 120 s")), 120_000))),
    ]);
    const redisAfter = redisUrl === null ? 0 : await redisCommands(redisUrl);
    // Warm-up messages count for Redis (its counter cannot be read at the measure's start): (warmup + messages).
    return { result, cpuUsPerMessage: (cpuEnd - cpuStart) / messages, redisPerMessage: redisUrl === null ? null : (redisAfter - redisBefore) / (messages + 200) };
  } catch (err) {
    return { result: null, note: (err as Error).message, cpuUsPerMessage: NaN, redisPerMessage: null };
  } finally {
    clearTimeout(timer);
  }
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "-";
}

async function main(): Promise<void> {
  console.log(`scale benchmark${quick ? " (quick)" : ""}: load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const plain = await startPlain("serve");
  const chatServer = await startPlain("chat");
  let cluster: Cluster | null = null;
  try {
    // Chat's default rate limit (20 sends/s per user) would measure the limiter, not the fan-out.
    const nodeArgs = serveKnows("--chat-rate") ? ["--chat-rate", "1000000"] : [];
    cluster = await startCluster({ users: [USER], redis: serveKnows("--redis"), nodeArgs });
    const lb = new URL(cluster.url);

    console.log(`\nping (64 B, 16 connections x 8 in flight, ${pingSeconds} s each; direct first, then through HAProxy)`);
    const direct = await pingLoad(plain.url, pingSeconds);
    const balanced = await pingLoad(cluster.url, pingSeconds);
    console.log(`  direct to one node          ${fmt(direct.rps).padStart(9)} req/s   p50 ${fmt(direct.p50Ms, 2)} ms`);
    console.log(`  through HAProxy (3 nodes)   ${fmt(balanced.rps).padStart(9)} req/s   p50 ${fmt(balanced.p50Ms, 2)} ms`);
    console.log(`  ratio HAProxy/direct        ${fmt(balanced.rps / direct.rps, 2)}x req/s, ${fmt(balanced.p50Ms / direct.p50Ms, 2)}x p50`);

    console.log(`\nchat fan-out: 1 sender -> 100 members, ${messages} messages of 64 B, 32 in flight`);
    const rows: ChatRow[] = [];
    const chatUrl = new URL(chatServer.url);
    rows.push({ label: "one process, no Redis", ...(await chatRun(chatUrl.hostname, Number(chatUrl.port), [chatServer.pid], null)) });
    if (cluster.redis === null || nodeArgs.length === 0) {
      console.log("  (nodes: skipped: this wharf serve has no --redis or no --chat-rate yet, so rooms are not shared across nodes or the rate limit would be measured)");
    } else {
      const pids = cluster.nodes.map((node) => node.pid);
      for (const count of [1, 2, 3]) {
        for (const [i, node] of cluster.nodes.entries()) {
          await cluster.admin(`${i < count ? "enable" : "disable"} server wharf_nodes/${node.name}`);
        }
        for (const [i, node] of cluster.nodes.entries()) if (i < count) await cluster.waitForStatus(node.name, /^UP/);
        rows.push({ label: `${count} node${count > 1 ? "s" : ""} + Redis, HAProxy`, ...(await chatRun(lb.hostname, Number(lb.port), pids, cluster.redis.url)) });
      }
    }
    const base = rows[0]!.result;
    console.log(`  ${"".padEnd(28)} ${"msg/s".padStart(8)} ${"deliv/s".padStart(9)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"vs 1 proc".padStart(9)} ${"CPU µs/msg".padStart(11)} ${"Redis/msg".padStart(9)}`);
    for (const row of rows) {
      const r = row.result;
      if (r === null) {
        console.log(`  ${row.label.padEnd(28)} ${row.note ?? "failed"}`);
        continue;
      }
      console.log(
        `  ${row.label.padEnd(28)} ${fmt(r.messagesPerSecond).padStart(8)} ${fmt(r.deliveriesPerSecond).padStart(9)} ${fmt(r.p50Ms, 1).padStart(7)} ${fmt(r.p99Ms, 1).padStart(7)} ` +
          `${(base === null ? "-" : `${fmt(r.messagesPerSecond / base.messagesPerSecond, 2)}x`).padStart(9)} ${fmt(row.cpuUsPerMessage).padStart(11)} ${(row.redisPerMessage === null ? "-" : fmt(row.redisPerMessage, 1)).padStart(9)}`,
      );
    }
    console.log("  CPU µs/msg: the wharf processes' user+system CPU per measured message (all nodes, not HAProxy or Redis).");
  } finally {
    await cluster?.stop();
    await plain.stop();
    await chatServer.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
