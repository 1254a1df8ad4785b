import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { after, describe, it } from "node:test";
import {
  CancelledError,
  ProcessPoolExecutor,
  ShutdownError,
  task,
  TaskNotFoundError,
  WorkerDiedError,
} from "../../src/pool/index.js";
import type * as tasks from "./fixtures/tasks.js";

const url = new URL("./fixtures/tasks.js", import.meta.url);
const add = task<typeof tasks.add>(url, "add");
const sleep = task<typeof tasks.sleep<string>>(url, "sleep");
const whoami = task<typeof tasks.whoami>(url, "whoami");

const isDied = (err: unknown): boolean => err instanceof WorkerDiedError && err.code === "E_WORKER_DIED";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("ProcessPoolExecutor", () => {
  const executor = new ProcessPoolExecutor({ maxWorkers: 2 });
  after(() => executor.shutdown());

  it("submit() runs the task in a child process and reuses it", async () => {
    const first = await executor.submit(whoami).result();
    assert.notEqual(first.pid, process.pid);
    assert.equal(await executor.submit(add, 40, 2).result(), 42);
    const again = await executor.submit(whoami).result();
    assert.ok(executor.pids.includes(again.pid));
    assert.ok(executor.processCount <= 2);
  });

  it("arguments and results are structured-cloned through the IPC channel", async () => {
    const value = { map: new Map([["k", new Set([1, 2])]]), when: new Date(7), bytes: new Uint8Array([1, 2, 3]), big: 12n };
    assert.deepEqual(await executor.submit(task(url), value).result(), value);
  });

  it("a task that throws rejects its future with the error, message and stack kept", async () => {
    const error = (await executor.submit(task(url, "fail"), "no quota").exception()) as Error & { code: string };
    assert.equal(error.name, "QuotaError");
    assert.equal(error.message, "no quota");
    assert.equal(error.code, "E_QUOTA");
    assert.match(error.stack ?? "", /at fail .*tasks\.js/);
    await assert.rejects(executor.submit(task(url, "missing")).result(), TaskNotFoundError);
  });

  it("a result that cannot be serialized fails that task only", async () => {
    const error = (await executor.submit(task(url, "notCloneable")).exception()) as Error;
    assert.match(error.message, /could not be cloned|serialize/i);
    assert.equal(await executor.submit(add, 1, 2).result(), 3);
  });

  it("a child that exits mid-task fails only that future with E_WORKER_DIED and exitCode, and is replaced", async () => {
    const sibling = executor.submit(sleep, 200, "sibling");
    const error = await executor.submit(task(url, "exitNow"), 3).exception();
    assert.ok(isDied(error), String(error));
    assert.equal((error as WorkerDiedError).exitCode, 3);
    assert.equal(await sibling.result(), "sibling");
    assert.equal(await executor.submit(add, 2, 2).result(), 4);
  });

  it("a child killed by a signal or crashing on an uncaught error fails only its task", async () => {
    const killed = await executor.submit(task(url, "killSelf"), "SIGKILL").exception();
    assert.ok(isDied(killed));
    assert.equal((killed as WorkerDiedError).signal, "SIGKILL");
    const crashed = await executor.submit(task(url, "crashInTimer")).exception();
    assert.ok(isDied(crashed));
    assert.equal((crashed as WorkerDiedError).exitCode, 1);
    assert.deepEqual(
      await Promise.all([1, 2, 3].map((n) => executor.submit(add, n, n).result())),
      [2, 4, 6],
    );
  });

  it("a child that runs out of memory fails only its task", async () => {
    const small = new ProcessPoolExecutor({ maxWorkers: 1, execArgv: ["--max-old-space-size=32"] });
    try {
      const error = await small.submit(task(url, "hog")).exception();
      assert.ok(isDied(error), String(error));
      assert.equal(await small.submit(add, 5, 5).result(), 10);
    } finally {
      await small.shutdown();
    }
  });

  it("cancel() works while queued; shutdown stops the children and later submits throw", async () => {
    const pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    const running = pool.submit(sleep, 200, "running");
    const queued = pool.submit(sleep, 1, "queued");
    const alsoQueued = pool.submit(sleep, 1, "also queued");
    assert.equal(queued.cancel(), true);
    await assert.rejects(queued.result(), CancelledError);
    assert.equal(running.cancel(), false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pids = pool.pids;
    assert.equal(pids.length, 1);
    await pool.shutdown();
    assert.equal(await running.result(), "running");
    assert.equal(await alsoQueued.result(), "also queued");
    assert.equal(alive(pids[0]!), false, "the child is gone after shutdown");
    assert.throws(() => pool.submit(add, 1, 1), ShutdownError);
  });

  it("shutdown({ cancelFutures: true }) cancels the queue", async () => {
    const pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    const running = pool.submit(sleep, 100, "r");
    const queued = pool.submit(sleep, 1, "q");
    await pool.shutdown({ cancelFutures: true });
    assert.equal(await running.result(), "r");
    assert.equal(queued.cancelled(), true);
  });

  it("the default maxWorkers is the number of cores", async () => {
    const pool = new ProcessPoolExecutor();
    assert.equal(pool.maxWorkers, availableParallelism());
    await pool.shutdown();
  });
});
