/**
 * Processes do not share memory: a child gets a copy of `money`, so what it spends the parent never sees.
 * Run: `npm run build && node dist/examples/process-isolation.js`.
 */
// In your project: import { Process, task } from "wharf/multiprocessing";
import { Process, task } from "../src/multiprocessing/index.js";

const money = { amount: 100 };
console.log(`parent: my money is ${money.amount}`);
const child = new Process(task(new URL("./course-tasks.js", import.meta.url), "spend"), [money]);
child.start();
await child.join();
console.log(`parent: after the child spent, my money is still ${money.amount}`);
if (money.amount !== 100) throw new Error("processes must not share memory");
