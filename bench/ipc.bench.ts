/**
 * Issue 16's benchmark: wharf/multiprocessing beside CPython's multiprocessing on the same machine, in the same
 * run, round after round (each round runs the CPython script once, then wharf's side), medians reported and
 * each target judged on the median of the per-round ratios.
 *
 * Targets: Queue between two processes (small items, items/s) >= 1.0x multiprocessing.Queue; Lock
 * acquire/release from two processes >= 1.0x Manager().Lock() proxies (CPython's multiprocessing.Lock, a
 * semaphore in shared memory, is reported beside it); Pipe round trips >= 1.0x multiprocessing.Pipe.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Barrier, Lock, Manager, Pipe, Process, ProcessPoolExecutor, Queue, task } from "../src/multiprocessing/index.js";
import type * as tasks from "./ipc-tasks.js";
import { median, printTable, verdict, type Row } from "./sync-report.js";

const ROUNDS = Number(process.env.WHARF_BENCH_ROUNDS ?? 5);
const QUEUE_N = 100_000;
const PIPE_N = 20_000;
const PIPE_CHILDREN_N = 5_000;
const MANAGER_LOCK_N = 5_000;
const LOCK_N = 20_000;
const MP_LOCK_N = 200_000;

const url = new URL("./ipc-tasks.js", import.meta.url);
const pyScript = fileURLToPath(new URL("../../bench/baselines/py_ipc.py", import.meta.url));

function python(): Record<string, number> {
  const run = spawnSync("python3", [pyScript, String(QUEUE_N), String(PIPE_N), String(MANAGER_LOCK_N), String(MP_LOCK_N)], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`python3 baseline failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, number>;
}

/** A child writes QUEUE_N ints; the parent (the queue's broker) reads them. */
async function queueToParent(): Promise<number> {
  const q = new Queue<number | null>();
  const writer = new Process(task(url, "write"), [q, QUEUE_N]);
  writer.start();
  let count = 0;
  await q.get();
  const t = performance.now();
  while ((await q.get()) !== null) count++;
  const rate = count / ((performance.now() - t) / 1000);
  await writer.join();
  return rate;
}

/** A child writes, another child reads: both talk to the parent's broker over its socket. */
async function queueChildToChild(pool: ProcessPoolExecutor): Promise<number> {
  const q = new Queue<number | null>();
  const reader = pool.submit(task<typeof tasks.read>(url, "read"), q);
  const writer = pool.submit(task<typeof tasks.write>(url, "write"), q, QUEUE_N);
  await writer.result();
  return (await reader.result()) as number;
}

async function pipeRoundTrips(): Promise<number> {
  const [parent, child] = Pipe<number | null>();
  const echo = new Process(task(url, "echo"), [child]);
  echo.start();
  for (let i = 0; i < 200; i++) {
    await parent.send(i);
    await parent.recv();
  }
  const t = performance.now();
  for (let i = 0; i < PIPE_N; i++) {
    await parent.send(i);
    await parent.recv();
  }
  const rate = PIPE_N / ((performance.now() - t) / 1000);
  await parent.send(null);
  await echo.join();
  return rate;
}

/** Round trips between two pool children: each value goes child -> the parent's broker -> the other child. */
async function pipeChildToChild(pool: ProcessPoolExecutor): Promise<number> {
  const [a, b] = Pipe<number | null>();
  const echo = pool.submit(task<typeof tasks.echo>(url, "echo"), b);
  const rate = (await pool.submit(task<typeof tasks.ping>(url, "ping"), a, PIPE_CHILDREN_N).result()) as number;
  await echo.result();
  return rate;
}

async function lockCycles(pool: ProcessPoolExecutor, lock: Lock, n: number): Promise<number> {
  const start = new Barrier(2);
  const futures = [0, 1].map(() => pool.submit(task<typeof tasks.lockLoop>(url, "lockLoop"), start, lock, n));
  const times = (await Promise.all(futures.map((f) => f.result()))) as number[];
  return (2 * n) / (Math.max(...times) / 1000);
}

const started = performance.now();
console.log(`ipc benchmark: ${ROUNDS} rounds, median reported (node ${process.version}, ${spawnSync("python3", ["--version"], { encoding: "utf8" }).stdout.trim()})`);
const pool = new ProcessPoolExecutor({ maxWorkers: 2 });
const manager = new Manager();
await manager.start();
const managerLock = await manager.Lock();

const samples: Record<string, number[]> = {};
const add = (name: string, value: number): void => void (samples[name] ??= []).push(value);
for (let round = 0; round < ROUNDS; round++) {
  const py = python();
  add("py Queue", py.queue!);
  add("py Pipe", py.pipe!);
  add("py Manager().Lock()", py.managerLock!);
  add("py multiprocessing.Lock", py.mpLock!);
  add("wharf Queue child->parent", await queueToParent());
  add("wharf Queue child->child", await queueChildToChild(pool));
  add("wharf Pipe", await pipeRoundTrips());
  add("wharf Pipe child<->child", await pipeChildToChild(pool));
  add("wharf Lock (broker in parent)", await lockCycles(pool, new Lock(), LOCK_N));
  add("wharf Manager().Lock()", await lockCycles(pool, managerLock, LOCK_N));
}

const row = (name: string): Row => ({ name, opsPerSec: samples[name]!, median: median(samples[name]!) });
const queueRows = [row("wharf Queue child->parent"), row("wharf Queue child->child"), row("py Queue")];
const pipeRows = [row("wharf Pipe"), row("wharf Pipe child<->child"), row("py Pipe")];
const lockRows = [row("wharf Lock (broker in parent)"), row("wharf Manager().Lock()"), row("py Manager().Lock()"), row("py multiprocessing.Lock")];
printTable(`Queue, ${QUEUE_N} small ints from one process to another (items/s)`, queueRows, "py Queue");
printTable(`Pipe, ${PIPE_N} round trips parent <-> child, ${PIPE_CHILDREN_N} child <-> child (round trips/s)`, pipeRows, "py Pipe");
printTable(`Lock, acquire+release from two processes (cycles/s)`, lockRows, "py Manager().Lock()");

console.log("\nratios against the targets:");
console.log(`  ${verdict("Queue vs multiprocessing.Queue", queueRows, "wharf Queue child->parent", "py Queue", 1.0)}`);
console.log(`  ${verdict("Lock vs Manager().Lock()", lockRows, "wharf Lock (broker in parent)", "py Manager().Lock()", 1.0)}`);
console.log(`  ${verdict("Manager Lock vs Manager().Lock()", lockRows, "wharf Manager().Lock()", "py Manager().Lock()", 1.0)}`);
console.log(`  ${verdict("Pipe vs multiprocessing.Pipe", pipeRows, "wharf Pipe", "py Pipe", 1.0)}`);
console.log(`  info Queue child->child vs multiprocessing.Queue: ${(row("wharf Queue child->child").median / row("py Queue").median).toFixed(2)}x (both ends talk to the parent's broker)`);
console.log(`  info Pipe child<->child vs multiprocessing.Pipe: ${(row("wharf Pipe child<->child").median / row("py Pipe").median).toFixed(2)}x (each value through the parent's broker)`);
console.log(`  info Lock vs multiprocessing.Lock (shared memory): ${(row("wharf Lock (broker in parent)").median / row("py multiprocessing.Lock").median).toFixed(3)}x`);

await pool.shutdown();
await manager.shutdown();
console.log(`\n(ipc benchmark took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
