/**
 * The load generator of the RPC benchmark (issue 6), run in a process of its own: keeps `depth` unary calls in
 * flight on one connection (wharf's `RpcClient` over `rpc.call`, or a grpc-js channel) for a while and reports
 * calls per second and latency percentiles. Every reply is checked against what was sent.
 */
import { fork } from "node:child_process";
import { createHistogram, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { connect } from "../src/client/index.js";
import { RpcClient } from "../src/services/rpc/index.js";
import { grpcClient } from "./rpc-grpc.js";

export interface RpcLoadConfig {
  kind: "wharf" | "grpc";
  port: number;
  depth: number;
  bodySize: number;
  warmupMs: number;
  durationMs: number;
}

export interface RpcLoadResult {
  calls: number;
  seconds: number;
  callsPerSecond: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  firstError: string | null;
}

type Echo = (data: Buffer) => Promise<Buffer>;

async function client(config: RpcLoadConfig): Promise<{ echo: Echo; close: () => void }> {
  if (config.kind === "grpc") return grpcClient(config.port);
  const conn = await connect(`tcp://127.0.0.1:${config.port}`);
  const rpc = new RpcClient(conn);
  return { echo: (data) => rpc.call<Buffer>("echo", [data]), close: () => conn.destroy() };
}

async function run(config: RpcLoadConfig): Promise<RpcLoadResult> {
  const { echo, close } = await client(config);
  const body = Buffer.alloc(config.bodySize);
  for (let i = 0; i < body.length; i += 1) body[i] = (i * 131 + 7) & 0xff;
  const histogram = createHistogram();
  let measuring = false;
  let running = true;
  let calls = 0;
  let errors = 0;
  let firstError: string | null = null;
  const worker = async (): Promise<void> => {
    while (running) {
      const t0 = performance.now();
      try {
        const reply = await echo(body);
        if (!reply.equals(body)) throw new Error("the reply differs from the request");
        if (measuring) {
          histogram.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          calls += 1;
        }
      } catch (err) {
        errors += 1;
        firstError ??= (err as Error).message;
        if (errors > 100) running = false;
      }
    }
  };
  const workers = Array.from({ length: config.depth }, () => worker());
  await new Promise((resolve) => setTimeout(resolve, config.warmupMs));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, config.durationMs));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await Promise.all(workers);
  close();
  return {
    calls,
    seconds,
    callsPerSecond: calls / seconds,
    p50Us: histogram.percentile(50),
    p99Us: histogram.percentile(99),
    errors,
    firstError,
  };
}

/** Runs one measurement in a fresh child process, so that the load never shares an event loop with a server. */
export function runRpcLoadInChild(config: RpcLoadConfig): Promise<RpcLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(config)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let result: RpcLoadResult | null = null;
    child.on("message", (message) => (result = message as RpcLoadResult));
    child.on("error", reject);
    child.on("exit", (code) => (result === null ? reject(new Error(`the load generator exited with ${code}`)) : resolve(result)));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  const result = await run(JSON.parse(process.argv[2]) as RpcLoadConfig);
  process.send(result, () => process.exit(0));
}
