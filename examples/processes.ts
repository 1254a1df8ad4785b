/**
 * Processes: start, join, daemon, terminate, isAlive, pid and ppid; and why wharf leaves no zombie and no orphan.
 * Run: `npm run build && node dist/examples/processes.js`.
 */
// In your project: import { Process, task } from "wharf/multiprocessing";
import { readFileSync } from "node:fs";
import { Process, task } from "../src/multiprocessing/index.js";

const tasks = new URL("./course-tasks.js", import.meta.url);

/** The state letter of a process in /proc (Z: a zombie), or "gone". */
function state(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0]!;
  } catch {
    return "gone";
  }
}

console.log(`parent: pid ${process.pid}`);

// start() and join(): two children run at once; join waits for each.
const a = new Process(task(tasks, "hello"), ["child A", 100]);
const b = new Process(task(tasks, "hello"), ["child B", 50]);
a.start();
b.start();
console.log(`started A (pid ${a.pid}) and B (pid ${b.pid}); A alive: ${a.isAlive()}`);
await a.join();
await b.join();
console.log(`joined: A exit code ${a.exitCode}, B exit code ${b.exitCode}; A alive: ${a.isAlive()}`);

// A child that ended has been reaped by Node (waitpid), so no zombie is left behind.
console.log(`A after join: ${state(a.pid!) === "gone" ? "gone, no zombie" : `state ${state(a.pid!)}`}`);

// terminate(): SIGTERM; exit code is minus the signal number, as in Python.
const looper = new Process(task(tasks, "forever"), []);
looper.start();
await new Promise((r) => setTimeout(r, 100));
console.log(`looper alive before terminate: ${looper.isAlive()}`);
looper.terminate();
await looper.join();
console.log(`looper after terminate: alive ${looper.isAlive()}, exit code ${looper.exitCode}`);

// join({ timeout }) returns false while the child still runs.
const slow = new Process(task(tasks, "forever"), [], { daemon: true });
slow.start();
console.log(`join({ timeout: 50 }) on a running child: ${await slow.join({ timeout: 50 })}`);

// A daemon child dies with its parent: no orphan is left running when this program exits.
// (A non-daemon child keeps the parent alive until it ends, as in Python.)
console.log(`daemon child ${slow.pid} is running; it ends when this parent exits`);
