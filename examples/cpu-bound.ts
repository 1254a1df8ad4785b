/**
 * CPU-bound work: on the event loop, four computations run one after another (one thread runs JavaScript, as
 * one thread holds Python's GIL), and nothing else can run meanwhile; in a pool of worker threads they run on
 * several cores and the loop stays free. Times depend on the machine; the ratio is what the lesson is about.
 * Run: `npm run build && node dist/examples/cpu-bound.js`.
 */
// In your project: import { ThreadPoolExecutor, task } from "wharf/pool";
import { availableParallelism } from "node:os";
import { task, ThreadPoolExecutor } from "../src/pool/index.js";
import { fib } from "./course-tasks.js";

const N = 32;
const JOBS = 4;

let ticks = 0;
const ticker = setInterval(() => ticks++, 10);

fib(25); // warm the JIT here too, as the threads are warmed below
let t = performance.now();
ticks = 0;
for (let i = 0; i < JOBS; i++) fib(N);
const loopMs = performance.now() - t;
const loopTicks = ticks;

const pool = new ThreadPoolExecutor({ maxWorkers: JOBS });
const fibTask = task<typeof fib>(new URL("./course-tasks.js", import.meta.url), "fib");
// Start every thread and let its JIT warm up before timing.
await Promise.all(Array.from({ length: JOBS }, () => pool.submit(fibTask, 25).result()));
t = performance.now();
ticks = 0;
await Promise.all(Array.from({ length: JOBS }, () => pool.submit(fibTask, N).result()));
const poolMs = performance.now() - t;
const poolTicks = ticks;
clearInterval(ticker);
await pool.shutdown();

console.log(`${JOBS} x fib(${N}) on the event loop: ${loopMs.toFixed(0)} ms, the loop ran ${loopTicks} timer ticks meanwhile (blocked)`);
console.log(`${JOBS} x fib(${N}) in ${JOBS} worker threads: ${poolMs.toFixed(0)} ms, the loop ran ${poolTicks} timer ticks meanwhile (free)`);
console.log(`speed-up ${(loopMs / poolMs).toFixed(1)}x on ${availableParallelism()} cores`);
