/**
 * A thread pool with done-callbacks: submit CPU-bound tasks, react to each completion in a callback, cancel one
 * that is still queued, see a task's error, then wait for everything. Run:
 * `npm run build && node dist/examples/pool-callbacks.js`.
 */
// In your project: import { ThreadPoolExecutor, task, wait } from "wharf/pool";
import { task, ThreadPoolExecutor, wait, type Future } from "../src/pool/index.js";
import type { fib as fibFn, mustBePositive as positiveFn } from "./tasks.js";

const tasksUrl = new URL("./tasks.js", import.meta.url);
const fib = task<typeof fibFn>(tasksUrl, "fib");
const mustBePositive = task<typeof positiveFn>(tasksUrl, "mustBePositive");

const executor = new ThreadPoolExecutor({ maxWorkers: 2 });
const started = performance.now();
const report = (label: string) => (future: Future<number>) => {
  const ms = (performance.now() - started).toFixed(0);
  if (future.cancelled()) {
    console.log(`[${ms} ms] ${label}: cancelled before it ran`);
    return;
  }
  future.result().then(
    (value) => console.log(`[${ms} ms] ${label} = ${value}`),
    (error: Error) => console.log(`[${ms} ms] ${label} failed: ${error.name}: ${error.message}`),
  );
};

const futures: Future<number>[] = [];
for (const n of [27, 25, 28, 20, 26]) {
  const future = executor.submit(fib, n);
  future.addDoneCallback(report(`fib(${n})`));
  futures.push(future);
}
const failing = executor.submit(mustBePositive, -1);
failing.addDoneCallback(report("mustBePositive(-1)"));
futures.push(failing);

// Two workers are busy with the first two tasks, so the last fib is still queued and can be cancelled.
console.log(`cancel fib(26) while queued: ${futures[4]!.cancel()}`);

const { done, notDone } = await wait(futures);
await executor.shutdown();
console.log(`all ${done.size} futures done (${notDone.size} not done), pool shut down`);
