/**
 * Producer-consumer across processes: two producer processes fill a JoinableQueue, two consumer processes take
 * from it and mark each order done; the parent's join() returns once every order was made.
 * Run: `npm run build && node dist/examples/producer-consumer-processes.js`.
 */
// In your project: import { JoinableQueue, Process, Queue, task } from "wharf/multiprocessing";
import { JoinableQueue, Process, Queue, task } from "../src/multiprocessing/index.js";

const tasks = new URL("./course-tasks.js", import.meta.url);
const orders = new JoinableQueue<string | null>({ maxsize: 4 });
const made = new Queue<string>();

const producers = ["bun", "tea"].map((name) => new Process(task(tasks, "producer"), [orders, name, 5]));
const consumers = [1, 2].map(() => new Process(task(tasks, "consumer"), [orders, made]));
for (const p of [...producers, ...consumers]) p.start();

for (const p of producers) await p.join();
await orders.join(); // every order put has been taken and marked done
const all: string[] = [];
while (!(await made.empty())) all.push(await made.get());
const distinct = new Set(all.map((line) => line.split(" by ")[0]));
console.log(`all ${distinct.size} orders made exactly once (${all.length} made in all); e.g. ${all[0]}`);
const byConsumer = new Map<string, number>();
for (const line of all) byConsumer.set(line.split("pid ")[1]!, (byConsumer.get(line.split("pid ")[1]!) ?? 0) + 1);
console.log(`orders per consumer process: ${[...byConsumer.values()].join(", ")}`);

for (let i = 0; i < consumers.length; i++) await orders.put(null); // one stop sign per consumer
for (const c of consumers) await c.join();
console.log(`consumers exited with codes ${consumers.map((c) => c.exitCode).join(", ")}`);
if (all.length !== 10 || distinct.size !== 10) throw new Error("an order was lost or made twice");
