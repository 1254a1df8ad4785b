/**
 * Threads share memory, processes do not: the same counter (a SharedArrayBuffer) is added to by two worker
 * threads, which both see and change the one buffer, and by two child processes, which each get a copy.
 * Run: `npm run build && node dist/examples/threads-vs-processes.js`.
 */
// In your project: import { ProcessPoolExecutor, ThreadPoolExecutor, task } from "wharf/pool";
import { ProcessPoolExecutor, task, ThreadPoolExecutor } from "../src/pool/index.js";

const add = task(new URL("./course-tasks.js", import.meta.url), "addToCounter");

const shared = new Int32Array(new SharedArrayBuffer(4));
const threads = new ThreadPoolExecutor({ maxWorkers: 2 });
await Promise.all([threads.submit(add, shared, 1000).result(), threads.submit(add, shared, 1000).result()]);
await threads.shutdown();
console.log(`threads: the parent's counter is ${shared[0]} (2 x 1000: one memory, shared)`);

const copied = new Int32Array(new SharedArrayBuffer(4));
const processes = new ProcessPoolExecutor({ maxWorkers: 2 });
const seen = await Promise.all([processes.submit(add, copied, 1000).result(), processes.submit(add, copied, 1000).result()]);
await processes.shutdown();
console.log(`processes: each child counted to ${seen.join(" and ")} in its own copy; the parent's counter is ${copied[0]}`);
if (shared[0] !== 2000 || copied[0] !== 0) throw new Error("unexpected sharing");
