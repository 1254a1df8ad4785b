/**
 * Issue 7's chat benchmark: fan-out of one sender to 100 members in one room, wharf's chat service (every
 * guarantee on: login, per-room sequencer, history file, clientId dedup, rate limiter, size limit, slow-consumer
 * bound) against a hand-written node:net relay of the same frames (none of those), in one run.
 *
 * Target: wharf delivers at least 0.8x the relay's messages per second. Also printed: p50/p99 end-to-end latency
 * (from the sender's write to each member's read, one clock) and the server's CPU time per message.
 *
 * Both servers run as child processes, started once; the load runs in this process. Rounds alternate which server
 * goes first; each round opens fresh connections, warms up, then measures. Medians over rounds are reported.
 *
 * Environment: WHARF_BENCH_QUICK=1 for a short run; WHARF_BENCH_ROUNDS, WHARF_BENCH_MESSAGES, WHARF_BENCH_WINDOW
 * override the rounds, messages per round and messages in flight; WHARF_BENCH_STRICT=1 exits 1 when the target
 * is missed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { runChatLoad, type ChatLoadResult } from "./chat-load.js";
import { treeCpuMicros } from "./wire-cpu.js";

const env = process.env;
const quick = process.argv.includes("--quick") || env.WHARF_BENCH_QUICK === "1";
const rounds = Number(env.WHARF_BENCH_ROUNDS ?? (quick ? 2 : 5));
const messages = Number(env.WHARF_BENCH_MESSAGES ?? (quick ? 2_000 : 4_000));
const window = Number(env.WHARF_BENCH_WINDOW ?? 32);
const members = 100;
const bodySize = 64;
const TARGET = 0.8;

interface Running {
  name: string;
  child: ChildProcess;
  host: string;
  port: number;
}

const children: ChildProcess[] = [];

async function start(name: string, script: string, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code} before listening`)));
  });
  const match = /listening on tcp:\/\/([^:]+):(\d+)/.exec(line);
  if (match === null) throw new Error(`${name}: unexpected first line ${line}`);
  return { name, child, host: match[1], port: Number(match[2]) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function pad(text: string, width: number): string {
  return text.padStart(width);
}

async function main(): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), "wharf-chat-bench-"));
  const servers: Running[] = [];
  try {
    servers.push(await start("wharf", "./chat-server.js", ["--data", dataDir]));
    servers.push(await start("node:net relay", "./chat-relay.js", []));
    console.log(
      `chat fan-out: 1 sender -> ${members} members in one room, ${bodySize} B bodies, ${window} messages in flight ` +
        `(in flight until every member has it), ${rounds} alternating rounds of ${messages} messages (+ warmup); ` +
        `${cpus().length} cores, node ${process.version}, load average ${loadavg()[0].toFixed(2)}`,
    );
    const results = new Map<string, (ChatLoadResult & { cpuUsPerMessage: number })[]>(servers.map((s) => [s.name, []]));
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        const pid = server.child.pid ?? 0;
        let cpuStart = 0;
        let cpuEnd = 0;
        const warmup = round === 0 ? 2_000 : 500;
        const result = await runChatLoad({
          host: server.host, port: server.port, members, warmup, messages, window, bodySize,
          onMeasure: (phase) => {
            if (phase === "start") cpuStart = treeCpuMicros(pid);
            else cpuEnd = treeCpuMicros(pid);
          },
        });
        const cpuUsPerMessage = (cpuEnd - cpuStart) / messages;
        results.get(server.name)?.push({ ...result, cpuUsPerMessage });
        console.log(
          `  round ${round + 1} ${server.name.padEnd(15)} ${pad(result.messagesPerSecond.toFixed(0), 7)} msg/s ` +
            `${pad((result.deliveriesPerSecond / 1000).toFixed(0), 5)}k deliveries/s  p50 ${result.p50Ms.toFixed(2)} ms  ` +
            `p99 ${result.p99Ms.toFixed(2)} ms  cpu ${cpuUsPerMessage.toFixed(0)} µs/msg (load ${result.loadCpuUsPerMessage.toFixed(0)})${result.dropped > 0 ? `  DROPPED ${result.dropped}` : ""}`,
        );
      }
    }
    console.log("\nmedians over rounds:");
    console.log(`  ${"server".padEnd(15)} ${pad("msg/s", 8)} ${pad("deliveries/s", 13)} ${pad("p50 ms", 8)} ${pad("p99 ms", 8)} ${pad("cpu µs/msg", 11)}`);
    const summary = new Map<string, { mps: number; p99: number; cpu: number }>();
    for (const [name, list] of results) {
      const mps = median(list.map((r) => r.messagesPerSecond));
      const p99 = median(list.map((r) => r.p99Ms));
      const cpu = median(list.map((r) => r.cpuUsPerMessage));
      summary.set(name, { mps, p99, cpu });
      console.log(
        `  ${name.padEnd(15)} ${pad(mps.toFixed(0), 8)} ${pad(median(list.map((r) => r.deliveriesPerSecond)).toFixed(0), 13)} ` +
          `${pad(median(list.map((r) => r.p50Ms)).toFixed(2), 8)} ${pad(p99.toFixed(2), 8)} ${pad(Number.isNaN(cpu) ? "n/a" : cpu.toFixed(0), 11)}`,
      );
    }
    const wharf = summary.get("wharf")!;
    const relay = summary.get("node:net relay")!;
    const ratio = wharf.mps / relay.mps;
    const met = ratio >= TARGET;
    console.log(
      `\ntarget: wharf >= ${TARGET}x the node:net relay in messages/s: ${ratio.toFixed(2)}x -> ${met ? "MET" : "NOT MET"}` +
        `\np99 latency: wharf ${wharf.p99.toFixed(2)} ms vs relay ${relay.p99.toFixed(2)} ms (${(wharf.p99 / relay.p99).toFixed(2)}x)` +
        `; server cpu per message: ${(wharf.cpu / relay.cpu).toFixed(2)}x the relay's`,
    );
    return met || env.WHARF_BENCH_STRICT !== "1" ? 0 : 1;
  } finally {
    for (const server of servers) server.child.kill("SIGTERM");
    await rm(dataDir, { recursive: true, force: true });
  }
}

// Children must not outlive the benchmark, whatever happens to it.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
process.exitCode = await main();
