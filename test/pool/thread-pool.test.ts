import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { threadId } from "node:worker_threads";
import {
  asCompleted,
  CancelledError,
  ShutdownError,
  task,
  TaskNotFoundError,
  ThreadPoolExecutor,
  TimeoutError,
  transfer,
  wait,
  WorkerDiedError,
} from "../../src/pool/index.js";
import { SharedEvent } from "../../src/sync/index.js";
import { until } from "../sync/helpers.js";
import type * as tasks from "./fixtures/tasks.js";

const url = new URL("./fixtures/tasks.js", import.meta.url);
const add = task<typeof tasks.add>(url, "add");
const square = task<typeof tasks.square>(url, "square");
const sleep = task<typeof tasks.sleep<string>>(url, "sleep");
const whoami = task<typeof tasks.whoami>(url, "whoami");

const isDied = (err: unknown): boolean => err instanceof WorkerDiedError && err.code === "E_WORKER_DIED";

describe("ThreadPoolExecutor", () => {
  const executor = new ThreadPoolExecutor({ maxWorkers: 2 });
  after(() => executor.shutdown());

  it("submit() runs the task on a worker thread and result() resolves its value", async () => {
    assert.equal(await executor.submit(add, 2, 3).result(), 5);
    const who = await executor.submit(whoami).result();
    assert.equal(who.pid, process.pid);
    assert.notEqual(who.threadId, threadId);
    assert.equal(await executor.submit(task(url)).result(), undefined, "the default export is the default task");
    assert.equal(await executor.submit(task(url.href), "by string").result(), "by string");
  });

  it("arguments and results are structured-cloned", async () => {
    const describeTask = task<typeof tasks.describe>(url, "describe");
    assert.equal(await executor.submit(describeTask, new Map([[1, 2]])).result(), "Map(1)");
    const identity = task(url);
    const value = { when: new Date(5), set: new Set([1]), nested: { big: 10n } };
    assert.deepEqual(await executor.submit(identity, value).result(), value);
  });

  it("transfer() moves buffers to the worker and back instead of copying them", async () => {
    const bytes = new Uint8Array([0, 1, 254]);
    const future = executor.submit(task<typeof tasks.invert>(url, "invert"), transfer(bytes, [bytes.buffer]));
    assert.equal(bytes.byteLength, 0, "moved out of this thread");
    const back = (await future.result()) as Uint8Array;
    assert.deepEqual([...back], [255, 254, 1]);
  });

  it("a task that throws rejects its future with the error: class, message, stack, code and cause kept", async () => {
    const error = await executor.submit(task(url, "fail"), "over quota").exception();
    assert.ok(error instanceof Error);
    assert.equal(error.name, "QuotaError");
    assert.equal(error.message, "over quota");
    assert.equal((error as { code?: string }).code, "E_QUOTA");
    assert.equal((error as { limit?: number }).limit, 3);
    assert.match(error.stack ?? "", /at fail .*tasks\.js/);
    const typeError = await executor.submit(task(url, "failType")).exception();
    assert.ok(typeError instanceof TypeError);
    assert.equal(((typeError as Error).cause as Error).message, "root cause");
    await assert.rejects(executor.submit(task(url, "throwString")).result(), (err) => err === "just a string");
  });

  it("a missing export or module rejects with TaskNotFoundError", async () => {
    await assert.rejects(executor.submit(task(url, "nope")).result(), (err: unknown) => err instanceof TaskNotFoundError && err.code === "E_TASK_NOT_FOUND");
    await assert.rejects(executor.submit(task(url, "constant")).result(), TaskNotFoundError);
    await assert.rejects(executor.submit(task(new URL("./fixtures/missing.js", import.meta.url))).result(), (err: unknown) => err instanceof TaskNotFoundError && err.cause !== undefined);
  });

  it("cancel() succeeds while the future is queued and fails once it runs", async () => {
    const open = new SharedEvent(); // the busy tasks hold both threads until the checks are done
    const gate = task<typeof tasks.gate<string>>(url, "gate");
    const busy = [executor.submit(gate, open.handle, "a"), executor.submit(gate, open.handle, "b")];
    const queued = executor.submit(sleep, 10, "c");
    try {
      assert.equal(await until(() => busy.every((f) => f.running()), 30_000), true, "both threads started");
      assert.equal(queued.running(), false);
      assert.equal(queued.cancel(), true);
      assert.equal(queued.cancelled(), true);
      await assert.rejects(queued.result(), CancelledError);
      assert.equal(busy[0]!.cancel(), false);
    } finally {
      open.set();
    }
    assert.deepEqual(await Promise.all(busy.map((f) => f.result())), ["a", "b"]);
  });

  it("a task already handed to a thread's queue is still cancelled exactly: it never runs", async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const dir = mkdtempSync(join(tmpdir(), "wharf-cancel-"));
    const file = join(dir, "ran.txt");
    try {
      const busy = pool.submit(sleep, 200, "busy");
      const handedAhead = pool.submit(task<typeof tasks.writeAfter>(url, "writeAfter"), 0, file, "ran");
      const later = pool.submit(add, 1, 2);
      assert.equal(handedAhead.cancel(), true);
      assert.equal(await later.result(), 3, "the thread skipped the cancelled task and went on");
      assert.equal(await busy.result(), "busy");
      assert.equal(existsSync(file), false, "the cancelled task never ran");
      assert.equal(handedAhead.cancelled(), true);
    } finally {
      await pool.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tasks start in submission order", async () => {
    const single = new ThreadPoolExecutor({ maxWorkers: 1 });
    try {
      const finished: number[] = [];
      const futures = [30, 1, 15, 0].map((ms, i) => {
        const f = single.submit(sleep, ms, String(i));
        f.addDoneCallback(() => finished.push(i));
        return f;
      });
      await wait(futures);
      assert.deepEqual(finished, [0, 1, 2, 3]);
    } finally {
      await single.shutdown();
    }
  });

  it("map() yields results in input order, even when later ones finish first", async () => {
    const results: string[] = [];
    for await (const r of executor.map(task<typeof tasks.default<string>>(url), ["x", "y", "z"])) results.push(r as string);
    assert.deepEqual(results, ["x", "y", "z"]);
    const squares: number[] = [];
    for await (const n of executor.map(square, [1, 2, 3, 4, 5])) squares.push(n);
    assert.deepEqual(squares, [1, 4, 9, 16, 25]);
  });

  it("map({ timeout }) throws TimeoutError, and leaving map early cancels what has not started", async () => {
    const slowIdentity = task<(ms: number) => Promise<number>>(url, "sleep");
    await assert.rejects(
      (async () => {
        for await (const _ of executor.map(slowIdentity, [200], { timeout: 20 })) void _;
      })(),
      (err: unknown) => err instanceof TimeoutError && err.code === "E_TIMEOUT",
    );
    const futuresSeen: number[] = [];
    for await (const n of executor.map(square, [1, 2, 3, 4, 5, 6, 7, 8])) {
      futuresSeen.push(n);
      break;
    }
    assert.deepEqual(futuresSeen, [1]);
  });

  it("map() surfaces a task's error when iteration reaches it", async () => {
    const fail = task<(m: string) => never>(url, "fail");
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of executor.map(fail, ["first fails"])) seen.push(r);
      })(),
      /first fails/,
    );
    assert.equal(seen.length, 0);
  });

  it("asCompleted() and wait() work with executor futures", async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      // Deterministic on a loaded machine: "fast" is done before "slow" is even submitted.
      const fast = pool.submit(sleep, 1, "fast");
      await fast.result();
      const futures = [pool.submit(sleep, 100, "slow"), fast];
      const order: string[] = [];
      for await (const f of asCompleted(futures)) order.push(await f.result());
      assert.deepEqual(order, ["fast", "slow"]);
      const { done } = await wait([pool.submit(sleep, 1, "x")]);
      assert.equal(done.size, 1);
    } finally {
      await pool.shutdown();
    }
  });

  it("a worker that calls process.exit() fails only its own future with E_WORKER_DIED, and the pool keeps serving", async () => {
    const sibling = executor.submit(sleep, 100, "sibling");
    const died = executor.submit(task(url, "exitNow"), 7);
    const error = await died.exception();
    assert.ok(isDied(error), String(error));
    assert.equal((error as WorkerDiedError).exitCode, 7);
    assert.equal(await sibling.result(), "sibling");
    assert.equal(await executor.submit(add, 1, 1).result(), 2);
  });

  it("an uncaught error in a worker's timer fails only that task with E_WORKER_DIED", async () => {
    const error = await executor.submit(task(url, "crashInTimer")).exception();
    assert.ok(isDied(error));
    assert.match(((error as Error).cause as Error).message, /uncaught in a timer/);
    assert.deepEqual(await Promise.all([executor.submit(add, 1, 2).result(), executor.submit(add, 3, 4).result()]), [3, 7]);
  });

  it("a worker that runs out of memory (resourceLimits) fails only its task, and the pool replaces it", async () => {
    const limited = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 24 } });
    try {
      const error = await limited.submit(task(url, "hog")).exception();
      assert.ok(isDied(error), String(error));
      assert.match(String(((error as Error).cause as Error)?.message ?? (error as Error).message), /memory/i);
      assert.equal(await limited.submit(add, 20, 22).result(), 42);
    } finally {
      await limited.shutdown();
    }
  });

  it("a result that cannot be cloned fails its future with the DataCloneError, and the worker survives", async () => {
    const error = await executor.submit(task(url, "notCloneable")).exception();
    assert.equal((error as Error).name, "DataCloneError");
    assert.match((error as Error).message, /could not be cloned/);
    assert.equal(await executor.submit(add, 1, 1).result(), 2);
  });

  it("shutdown({ wait }) waits for queued work; submit() afterwards throws ShutdownError", async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const futures = [pool.submit(sleep, 30, "a"), pool.submit(sleep, 1, "b")];
    await pool.shutdown();
    assert.ok(futures.every((f) => f.done()));
    assert.deepEqual(await Promise.all(futures.map((f) => f.result())), ["a", "b"]);
    assert.throws(() => pool.submit(add, 1, 2), (err: unknown) => err instanceof ShutdownError && err.code === "E_SHUTDOWN");
    assert.throws(() => pool.map(square, [1]), ShutdownError);
    assert.equal(pool.isShutdown, true);
    await pool.shutdown(); // again: harmless
  });

  it("shutdown({ cancelFutures }) cancels queued futures, handed-ahead ones too; the running one completes", async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const open = new SharedEvent();
    const running = pool.submit(task<typeof tasks.gate<string>>(url, "gate"), open.handle, "running");
    const queued = Array.from({ length: 8 }, (_, i) => pool.submit(sleep, 1, `q${i}`));
    try {
      assert.equal(await until(() => running.running(), 30_000), true);
      const closing = pool.shutdown({ cancelFutures: true });
      assert.ok(queued.every((f) => f.cancelled()));
      open.set();
      await closing;
    } finally {
      open.set();
    }
    assert.equal(await running.result(), "running");
  });

  it("shutdown({ wait: false }) returns at once and the work still finishes", async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const future = pool.submit(sleep, 40, "done later");
    await pool.shutdown({ wait: false });
    assert.equal(future.done(), false);
    assert.equal(await future.result(), "done later");
  });

  it("the default maxWorkers is min(32, cores + 4), and bad options are rejected", async () => {
    const pool = new ThreadPoolExecutor();
    assert.equal(pool.maxWorkers, Math.min(32, availableParallelism() + 4));
    await pool.shutdown();
    assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 0 }), /options\.maxWorkers must be a positive integer/);
    assert.throws(() => executor.submit({} as never), /task must be made with task/);
    assert.throws(() => task("relative/path.js"), /moduleUrl must be/);
  });
});
