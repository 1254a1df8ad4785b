import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Barrier, Condition, Event, Lock, ProcessPoolExecutor, Queue, task } from "../../src/multiprocessing/index.js";
import { reap, start, tasksUrl, until } from "./helpers.js";

describe("multiprocessing Event", () => {
  it("set() wakes waiters in every child; wait({ timeout }) gives false while unset", async () => {
    const ev = new Event();
    const out = new Queue<string>();
    const cars = ["a", "b", "c"].map((name) => start("waitEvent", [ev, out, name]));
    try {
      assert.equal(await ev.wait({ timeout: 30 }), false);
      assert.equal(await out.qsize(), 0);
      await ev.set();
      const woke = [await out.get(), await out.get(), await out.get()].sort();
      assert.deepEqual(woke, ["a", "b", "c"]);
      assert.equal(await ev.isSet(), true);
      await ev.clear();
      assert.equal(await ev.isSet(), false);
    } finally {
      await reap(...cars);
    }
  });
});

describe("multiprocessing Condition", () => {
  it("wait() in a child releases the lock, and a notify() from the parent wakes it", async () => {
    const cond = new Condition(new Lock());
    const out = new Queue<string>();
    const child = start("waitCondition", [cond, out]);
    try {
      assert.equal(await out.get(), "waiting");
      // The child waits inside its critical section, so the parent can take the lock: wait() released it.
      await cond.acquire();
      await cond.notify();
      await cond.release();
      assert.equal(await out.get(), "woken:true");
      await child.join();
      assert.equal(child.exitCode, 0);
    } finally {
      await reap(child);
    }
  });

  it("notify() without the lock fails with E_NOT_HELD", async () => {
    const cond = new Condition();
    await assert.rejects(cond.notify(), { name: "NotHeldError", code: "E_NOT_HELD" });
    await assert.rejects(cond.wait(), { code: "E_NOT_HELD" });
  });
});

describe("multiprocessing Barrier", () => {
  it("lets three processes through together, each with its own index", async () => {
    const barrier = new Barrier(3);
    const out = new Queue<number>();
    const procs = [0, 1, 2].map(() => start("atBarrier", [barrier, out]));
    try {
      const indexes = [await out.get(), await out.get(), await out.get()].sort();
      assert.deepEqual(indexes, [0, 1, 2]);
    } finally {
      await reap(...procs);
    }
  });

  it("is broken for the others when a waiting party's process dies", async () => {
    const barrier = new Barrier(3);
    const out = new Queue<number>();
    const party = start("atBarrier", [barrier, out]);
    try {
      assert.ok(await until(async () => (await barrier.state()).nWaiting === 1));
      party.kill();
      await party.join();
      assert.ok(await until(async () => (await barrier.state()).broken));
      await assert.rejects(barrier.wait(), { name: "BrokenBarrierError", code: "E_BROKEN_BARRIER" });
    } finally {
      await reap(party);
    }
  });
});

describe("process-shared objects in a ProcessPoolExecutor", () => {
  it("pass to pool tasks as arguments: pool.submit(task, queue)", async () => {
    const q = new Queue<number>();
    const pool = new ProcessPoolExecutor({ maxWorkers: 2 });
    try {
      const futures = [0, 1, 2, 3].map(() => pool.submit(task(tasksUrl, "putPid"), q));
      const pids = (await Promise.all(futures.map((f) => f.result()))) as number[];
      const put: number[] = [];
      for (let i = 0; i < 4; i++) put.push(await q.getNowait()); // flushed before each task reported done
      assert.deepEqual(put.sort(), [...pids].sort());
      assert.ok(pids.every((pid) => pid !== process.pid));
    } finally {
      await pool.shutdown();
    }
  });
});
