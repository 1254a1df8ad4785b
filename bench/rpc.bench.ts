/**
 * Issue 6's RPC benchmark: unary calls per second and p99 latency of `wharf serve`'s `echo` method (64-byte
 * Buffer in, the same out, over `rpc.call`) beside @grpc/grpc-js serving the same method (a 64-byte `bytes`
 * field) on loopback, with 1 and with 32 calls in flight on one connection.
 *
 * Target: wharf >= 1.5x grpc-js calls per second.
 *
 * Both servers run as child processes for the whole run; one load generator process at a time drives one of
 * them, the servers alternating round by round (the order flipping each round) so that noise on the shared
 * machine hits both alike. The medians over the rounds count.
 *
 * Environment: WHARF_BENCH_QUICK=1 for fewer, shorter rounds; WHARF_BENCH_STRICT=1 exits 1 when the target is
 * missed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { runRpcLoadInChild, type RpcLoadResult } from "./rpc-load.js";

const quick = process.env.WHARF_BENCH_QUICK === "1";
const strict = process.env.WHARF_BENCH_STRICT === "1";
const ROUNDS = quick ? 2 : 5;
const SECONDS = quick ? 1 : 2;
const WARMUP_MS = quick ? 300 : 700;
const DEPTHS = [1, 32];
const BODY = 64;
const TARGET = 1.5;

const WHARF_CLI = fileURLToPath(new URL("../bin/wharf.cjs", import.meta.url));
const GRPC_SERVER = fileURLToPath(new URL("./rpc-grpc.js", import.meta.url));

interface Running {
  name: "wharf" | "grpc";
  child: ChildProcess;
  port: number;
}

async function start(name: Running["name"], args: string[]): Promise<Running> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code} before listening`)));
  });
  const match = /tcp:\/\/127\.0\.0\.1:(\d+)/.exec(line);
  if (match === null) throw new Error(`${name}: unexpected first line ${line}`);
  return { name, child, port: Number(match[1]) };
}

async function stop(server: Running): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), "wharf-rpc-bench-"));
  console.log(
    `rpc: unary echo of ${BODY} B, one connection, ${DEPTHS.join(" and ")} calls in flight; ${ROUNDS} alternating rounds of ` +
      `${SECONDS} s per server (${WARMUP_MS} ms warmup each); medians count; ${cpus().length} cores, node ${process.version}, ` +
      `load average ${loadavg()[0].toFixed(2)}`,
  );
  const servers = [
    await start("wharf", [WHARF_CLI, "serve", "--port", "0", "--no-udp", "--rpc-demo", "--log-level", "warn", "--data", dataDir]),
    await start("grpc", [GRPC_SERVER, "serve"]),
  ];
  const results = new Map<string, RpcLoadResult[]>();
  const failures: string[] = [];
  try {
    for (const depth of DEPTHS) {
      for (let round = 0; round < ROUNDS; round += 1) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          const result = await runRpcLoadInChild({ kind: server.name, port: server.port, depth, bodySize: BODY, warmupMs: WARMUP_MS, durationMs: SECONDS * 1000 });
          const key = `${server.name}/${depth}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          if (result.errors > 0) failures.push(`${key}: ${result.errors} errors, first: ${result.firstError}`);
          console.error(`  depth ${String(depth).padStart(2)}  round ${round + 1}  ${server.name.padEnd(5)}  ${Math.round(result.callsPerSecond)} calls/s  p99 ${(result.p99Us / 1000).toFixed(2)} ms`);
        }
      }
    }
  } finally {
    await Promise.all(servers.map(stop));
    await rm(dataDir, { recursive: true, force: true });
  }

  console.log("");
  console.log("in flight | server | calls/s (median) | p50 ms | p99 ms");
  console.log("----------|--------|------------------|--------|-------");
  const verdicts: string[] = [];
  let met = true;
  for (const depth of DEPTHS) {
    const summary = (name: string) => {
      const runs = results.get(`${name}/${depth}`) ?? [];
      return {
        rate: median(runs.map((r) => r.callsPerSecond)),
        p50: median(runs.map((r) => r.p50Us)) / 1000,
        p99: median(runs.map((r) => r.p99Us)) / 1000,
      };
    };
    const wharf = summary("wharf");
    const grpc = summary("grpc");
    for (const [name, s] of [["wharf", wharf], ["grpc-js", grpc]] as const) {
      console.log(`${String(depth).padStart(9)} | ${name.padEnd(6)} | ${String(Math.round(s.rate)).padStart(16)} | ${s.p50.toFixed(3).padStart(6)} | ${s.p99.toFixed(3)}`);
    }
    const ratio = wharf.rate / grpc.rate;
    const ok = ratio >= TARGET;
    met &&= ok;
    verdicts.push(`${depth} in flight: wharf/grpc-js = ${ratio.toFixed(2)}x calls/s (target >= ${TARGET}x): ${ok ? "MET" : "NOT MET"}; p99 ${wharf.p99.toFixed(3)} ms vs ${grpc.p99.toFixed(3)} ms`);
  }
  console.log("");
  for (const line of verdicts) console.log(line);
  for (const failure of failures) console.log(`ERROR ${failure}`);
  return failures.length > 0 || (strict && !met) ? 1 : 0;
}

process.exitCode = await main();
