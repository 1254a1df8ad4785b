/** Helpers of the multiprocessing tests. */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Process, task } from "../../src/multiprocessing/index.js";

export const tasksUrl = new URL("./fixtures/tasks.js", import.meta.url);

/** True if `pid` runs and is not a zombie (a zombie still answers kill(pid, 0)). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Starts a Process running export `name` of the fixture tasks. */
export function start(name: string, args: unknown[]): Process {
  const p = new Process(task(tasksUrl, name), args);
  p.start();
  return p;
}

/** Kills what is still running among `procs` and waits for each to end (test cleanup). */
export async function reap(...procs: Process[]): Promise<void> {
  for (const p of procs) p.kill();
  await Promise.all(procs.map((p) => (p.pid === undefined ? undefined : p.join())));
}

/** Polls `check` until it is true or `ms` pass; returns the last result. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await sleep(5);
  }
}
