/**
 * Where a plain put or get spends its CPU (issue 15): one verb, whole `wharf` commands pinned as in
 * transfers.bench.ts (client on CPU 0, `wharf serve` on CPU 1), files on tmpfs, CPU seconds per side from /proc,
 * and the same command on a 1 MiB file, which gives the fixed cost of a command (start-up, login) apart from the
 * cost per byte. Not a `*.bench.ts`: `npm run bench` does not run it. After `npm run build`:
 *
 *   node dist/bench/transfers-profile.js put|get [--hash blake3|sha256] [--mib 1024] [--rounds 3] [--token] [--cpu-prof DIR]
 *
 * `--token`: log in once with `wharf login` and let every command use the saved token, as a user who transfers
 * often would; by default each command logs in with WHARF_PASSWORD, which costs the server one scrypt hash.
 *
 * With `--cpu-prof DIR` both processes write V8 CPU profiles there and the self samples of the busiest functions
 * of each are printed (samples, not time deltas: on a loaded machine a preempted sample would carry the wait).
 *
 * `startup` instead measures the fixed cost of short commands alone (`--version`, `ping -c 1`, put and get of
 * 4 KiB, with the saved token), `--rounds` times each (default 7), interleaved, and prints the client's lowest
 * and median CPU and wall time. `--cli PATH` runs another build of the command, e.g. `--cli
 * dist/src/cli/main.js` (the modules as tsc wrote them) against the default dist/bin/wharf.cjs (the bundles).
 * CPU comes from /proc in clock ticks (10 ms here); `perf stat -e task-clock` gives finer figures.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, open } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AccountStore } from "../src/services/accounts/index.js";
import { cpuSeconds } from "./files-baselines.js";

const MiB = 1024 * 1024;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { hash: { type: "string", default: "blake3" }, mib: { type: "string", default: "1024" }, rounds: { type: "string" }, token: { type: "boolean", default: false }, "cpu-prof": { type: "string" }, cli: { type: "string" } },
});
const WHARF_CLI = values.cli !== undefined ? resolve(values.cli) : fileURLToPath(new URL("../bin/wharf.cjs", import.meta.url));
const verb = positionals[0];
if (verb !== "put" && verb !== "get" && verb !== "startup") {
  console.error("usage: transfers-profile.js put|get|startup [--hash blake3|sha256] [--mib 1024] [--rounds 3] [--token] [--cpu-prof DIR] [--cli PATH]");
  process.exit(2);
}
const rounds = Number(values.rounds ?? (verb === "startup" ? 7 : 3));
const profDir = values["cpu-prof"];
const profArgs = profDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profDir}`];

/** User and system CPU seconds of each thread of a process: "main" and the others by thread id. */
function threadSeconds(pid: number): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
      seconds.set(tid === String(pid) ? "main" : tid, (fields[11] + fields[12]) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return seconds;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn("taskset", ["-c", "0", command, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(" ")}: exit ${String(code)}\n${stderr}`)))));
}

async function makeFile(path: string, size: number): Promise<void> {
  const file = await open(path, "w");
  const chunk = Buffer.alloc(8 * MiB);
  try {
    for (let written = 0; written < size; written += chunk.length) await file.write(randomFillSync(chunk), 0, Math.min(chunk.length, size - written));
  } finally {
    await file.close();
  }
}

function printProfile(path: string, top = 12): void {
  const profile = JSON.parse(readFileSync(path, "utf8")) as { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[] };
  const names = new Map(profile.nodes.map((node) => [node.id, `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").slice(-2).join("/")}`]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) counts.set(names.get(id)!, (counts.get(names.get(id)!) ?? 0) + 1);
  const busy = profile.samples.length - [...counts].filter(([name]) => name.startsWith("(idle)")).reduce((sum, [, n]) => sum + n, 0);
  console.log(`  ${path.split("/").pop()}: ${busy} busy samples (main thread)`);
  for (const [name, n] of [...counts].filter(([name]) => !name.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${String(n).padStart(6)}  ${(n / busy * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
}

/** `startup`: each short command `rounds` times, interleaved; the client's lowest and median CPU and wall ms. */
async function startupRows(url: string, env: NodeJS.ProcessEnv): Promise<void> {
  const small = join(work, "small.bin");
  await makeFile(small, 4096);
  const as = ["--server", url, "--user", "bench"];
  await run(process.execPath, [WHARF_CLI, "put", small, "small.bin", ...as], env);
  const commands: [string, string[]][] = [
    ["--version", ["--version"]],
    ["ping -c 1", ["ping", url, "--count", "1"]],
    ["put 4 KiB", ["put", small, "small.bin", ...as]],
    ["get 4 KiB", ["get", "small.bin", join(work, "got.bin"), ...as]],
  ];
  console.log(`startup: ${WHARF_CLI}, ${rounds} rounds interleaved, saved token; client on CPU 0, server on CPU 1; load average ${loadavg()[0].toFixed(2)}`);
  const cpu = commands.map((): number[] => []);
  const wall = commands.map((): number[] => []);
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, [, args]] of commands.entries()) {
      const client0 = cpuSeconds("self-children");
      const started = performance.now();
      await run(process.execPath, [WHARF_CLI, ...args], env);
      wall[i].push(performance.now() - started);
      cpu[i].push((cpuSeconds("self-children") - client0) * 1000);
    }
  }
  const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  for (const [i, [name]] of commands.entries()) {
    console.log(`  ${name.padEnd(10)} client CPU ms: lowest ${Math.min(...cpu[i]).toFixed(0).padStart(4)}, median ${median(cpu[i]).toFixed(0).padStart(4)}; wall ms: lowest ${Math.min(...wall[i]).toFixed(0).padStart(4)}, median ${median(wall[i]).toFixed(0).padStart(4)}`);
  }
}

const work = await mkdtemp(join("/dev/shm", "wharf-transfers-profile-"));
let server: ChildProcess | undefined;
try {
  const data = join(work, "data");
  await new AccountStore(data).add("bench", "bench-password");
  if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
  server = spawn("taskset", ["-c", "1", process.execPath, ...profArgs, WHARF_CLI, "serve", "--data", data, "--port", "0", "--no-udp", "--log-level", "warn"], { stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise<string>((resolve) => createInterface({ input: server!.stdout! }).once("line", resolve));
  const url = /(tcp:\/\/\S+)/.exec(first)?.[1];
  if (url === undefined) throw new Error(`wharf serve: ${first}`);
  const serverPid = server.pid!;
  const config = join(work, "config");
  let env: NodeJS.ProcessEnv = { ...process.env, WHARF_PASSWORD: "bench-password", XDG_CONFIG_HOME: config };
  if (values.token === true || verb === "startup") {
    await run(process.execPath, [WHARF_CLI, "login", "--server", url, "--user", "bench"], env);
    env = { ...process.env, XDG_CONFIG_HOME: config };
    delete env.WHARF_PASSWORD;
  }
  const as = ["--server", url, "--user", "bench", "--hash", values.hash!];
  if (verb === "startup") await startupRows(url, env);
  else console.log(`${verb} ${values.hash}, ${values.mib} MiB and 1 MiB, ${rounds} round(s), ${values.token === true ? "saved token" : "password"} login; client on CPU 0, server on CPU 1; load average ${loadavg()[0].toFixed(2)}`);
  for (const mib of verb === "startup" ? [] : [Number(values.mib), 1]) {
    const source = join(work, `source-${mib}.bin`);
    await makeFile(source, mib * MiB);
    if (verb === "get") await run(process.execPath, [WHARF_CLI, "put", source, `stored-${mib}.bin`, ...as], env);
    const client: number[] = [];
    const serverSide: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const threads0 = threadSeconds(serverPid);
      const client0 = cpuSeconds("self-children");
      const server0 = cpuSeconds(serverPid);
      const started = performance.now();
      const profiled = mib > 1 && round === 0 ? profArgs : [];
      if (verb === "put") await run(process.execPath, [...profiled, WHARF_CLI, "put", source, `p-${mib}-${round}.bin`, ...as], env);
      else await run(process.execPath, [...profiled, WHARF_CLI, "get", `stored-${mib}.bin`, join(work, "got.bin"), ...as], env);
      const seconds = (performance.now() - started) / 1000;
      const clientCpu = cpuSeconds("self-children") - client0;
      const serverCpu = cpuSeconds(serverPid) - server0;
      const threads = [...threadSeconds(serverPid)].map(([name, s]) => [name, s - (threads0.get(name) ?? 0)] as const).filter(([, s]) => s >= 0.02);
      rmSync(verb === "put" ? join(data, "homes", "bench", `p-${mib}-${round}.bin`) : join(work, "got.bin"), { force: true });
      client.push(clientCpu);
      serverSide.push(serverCpu);
      console.log(`  ${String(mib).padStart(5)} MiB round ${round + 1}: ${seconds.toFixed(2)} s; CPU s: client ${clientCpu.toFixed(2)}, server ${serverCpu.toFixed(2)} (threads: ${threads.map(([name, s]) => `${name} ${s.toFixed(2)}`).join(", ")})`);
    }
    const low = (list: number[]): number => Math.min(...list);
    const gib = (mib * MiB) / (1024 * MiB);
    console.log(`  ${String(mib).padStart(5)} MiB lowest of the rounds: client ${low(client).toFixed(2)} s, server ${low(serverSide).toFixed(2)} s` + (mib > 1 ? ` (${(low(client) / gib).toFixed(2)} / ${(low(serverSide) / gib).toFixed(2)} CPU s/GiB)` : " (the fixed cost of a command)"));
  }
} finally {
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once("exit", resolve));
    server.kill("SIGINT");
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
}
if (profDir !== undefined) for (const name of readdirSync(profDir).filter((n) => n.endsWith(".cpuprofile"))) printProfile(join(profDir, name));
