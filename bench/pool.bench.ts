/**
 * Issue 4's pool benchmark: tiny-task throughput of ThreadPoolExecutor beside piscina used directly (same number
 * of threads, same work), and of ProcessPoolExecutor. Each run submits a batch and waits for every result;
 * contenders alternate in rounds (order rotating); medians are reported, and the target is judged on the median of
 * the per-round ratios, which the shared machine's bursts of load disturb least.
 *
 * Target: ThreadPoolExecutor >= 0.8x raw piscina.
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { ProcessPoolExecutor, task, ThreadPoolExecutor } from "../src/pool/index.js";
import { printTable, race, verdict } from "./sync-report.js";
import type { add as addFn } from "./pool-tasks.js";

const ROUNDS = Number(process.env.WHARF_BENCH_ROUNDS ?? 9);
const WORKERS = Math.max(2, availableParallelism());
const THREAD_BATCH = 15_000;
const PROCESS_BATCH = 5_000;

const tasksUrl = new URL("./pool-tasks.js", import.meta.url);
const add = task<typeof addFn>(tasksUrl, "add");

const threads = new ThreadPoolExecutor({ maxWorkers: WORKERS });
const piscina = new Piscina({ filename: tasksUrl.href, minThreads: WORKERS, maxThreads: WORKERS });
const processes = new ProcessPoolExecutor({ maxWorkers: WORKERS });

const started = performance.now();
console.log(`pool benchmark: ${WORKERS} workers each, ${ROUNDS} rounds, median reported (node ${process.version})`);

const threadRows = await race(
  [
    {
      name: "wharf ThreadPoolExecutor",
      ops: THREAD_BATCH,
      run: async () => {
        const results = [];
        for (let i = 0; i < THREAD_BATCH; i += 1) results.push(threads.submit(add, i, 1).result());
        await Promise.all(results);
      },
    },
    {
      name: "piscina directly",
      ops: THREAD_BATCH,
      run: async () => {
        const promises = [];
        for (let i = 0; i < THREAD_BATCH; i += 1) promises.push(piscina.run({ a: i, b: 1 }));
        await Promise.all(promises);
      },
    },
  ],
  ROUNDS,
);
printTable(`Thread pools, tiny tasks, ${THREAD_BATCH} per run`, threadRows, "piscina directly");

const processRows = await race(
  [
    {
      name: "wharf ProcessPoolExecutor",
      ops: PROCESS_BATCH,
      run: async () => {
        const results = [];
        for (let i = 0; i < PROCESS_BATCH; i += 1) results.push(processes.submit(add, i, 1).result());
        await Promise.all(results);
      },
    },
  ],
  5,
);
printTable(`Process pool, tiny tasks, ${PROCESS_BATCH} per run`, processRows);
const threadMedian = threadRows.find((r) => r.name === "wharf ThreadPoolExecutor")!.median;
const processMedian = processRows[0]!.median;

console.log("\nratios against the targets:");
console.log(`  ${verdict("ThreadPoolExecutor vs raw piscina", threadRows, "wharf ThreadPoolExecutor", "piscina directly", 0.8)}`);
console.log(`  info ProcessPoolExecutor vs ThreadPoolExecutor: ${(processMedian / threadMedian).toFixed(2)}x (no target; IPC per task)`);

await Promise.all([threads.shutdown(), piscina.destroy(), processes.shutdown()]);
console.log(`\n(pool benchmark took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
