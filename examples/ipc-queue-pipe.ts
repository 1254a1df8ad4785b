/**
 * Inter-process communication: a writer process and a reader process share a Queue made here; then the parent
 * and a child talk over the two ends of a Pipe.
 * Run: `npm run build && node dist/examples/ipc-queue-pipe.js`.
 */
// In your project: import { Pipe, Process, Queue, task } from "wharf/multiprocessing";
import { Pipe, Process, Queue, task } from "../src/multiprocessing/index.js";

const tasks = new URL("./course-tasks.js", import.meta.url);

console.log("Queue between two child processes:");
const q = new Queue<string>();
const w = new Process(task(tasks, "writer"), [q]);
const r = new Process(task(tasks, "reader"), [q]);
w.start();
r.start();
await w.join();
await r.join();

console.log("Pipe between the parent and a child:");
const [mine, theirs] = Pipe<string>();
const child = new Process(task(tasks, "answerer"), [theirs]);
child.start();
for (const question of ["ready?", "steady?"]) {
  await mine.send(question);
  console.log(`  parent asked ${JSON.stringify(question)}, child answered ${JSON.stringify(await mine.recv())}`);
}
await mine.send("bye");
await child.join();
console.log(`child exited with code ${child.exitCode}`);
