import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TooManyTaskDoneError,
} from "../../src/sync/index.js";
import { settle, sleep, track } from "./helpers.js";

const code = (expected: string) => (err: unknown) => (err as { code?: string }).code === expected;

describe("Queue", () => {
  it("Queue returns items first-in first-out and reports its size", async () => {
    const q = new Queue<number>({ maxsize: 3 });
    assert.equal(q.empty(), true);
    await q.put(1);
    q.putNowait(2);
    await q.put(3);
    assert.equal(q.qsize(), 3);
    assert.equal(q.full(), true);
    assert.deepEqual([await q.get(), q.getNowait(), await q.get()], [1, 2, 3]);
    assert.equal(q.empty(), true);
  });

  it("Queue.put() waits while full and Queue.get() waits while empty", async () => {
    const q = new Queue<string>({ maxsize: 1 });
    await q.put("a");
    const blockedPut = track(q.put("b"));
    await settle();
    assert.equal(blockedPut.settled(), false);
    assert.equal(await q.get(), "a");
    await settle();
    assert.equal(blockedPut.settled(), true);
    assert.equal(await q.get(), "b");
    const blockedGet = track(q.get());
    await settle();
    assert.equal(blockedGet.settled(), false);
    await q.put("c");
    await settle();
    assert.equal(blockedGet.value(), "c");
  });

  it("waiting getters and putters are served in arrival order", async () => {
    const q = new Queue<number>({ maxsize: 1 });
    const got: string[] = [];
    const getters = ["g1", "g2", "g3"].map((name) => q.get().then((item) => got.push(`${name}:${item}`)));
    await q.put(1);
    await q.put(2);
    await q.put(3);
    await Promise.all(getters);
    assert.deepEqual(got, ["g1:1", "g2:2", "g3:3"]);
    await q.put(0);
    const putters = [4, 5, 6].map((n) => q.put(n));
    const out = [await q.get(), await q.get(), await q.get(), await q.get()];
    await Promise.all(putters);
    assert.deepEqual(out, [0, 4, 5, 6]);
  });

  it("a timed-out put rejects with QueueFull and a timed-out get with QueueEmpty", async () => {
    const q = new Queue<number>({ maxsize: 1 });
    await q.put(1);
    await assert.rejects(q.put(2, { timeout: 10 }), code("E_QUEUE_FULL"));
    await assert.rejects(q.put(2, { timeout: 0 }), QueueFull);
    assert.equal(q.qsize(), 1, "the rejected item was not enqueued");
    await q.get();
    await assert.rejects(q.get({ timeout: 10 }), code("E_QUEUE_EMPTY"));
    await assert.rejects(q.get({ timeout: 0 }), QueueEmpty);
  });

  it("putNowait() and getNowait() throw QueueFull and QueueEmpty at once", () => {
    const q = new Queue<number>({ maxsize: 1 });
    assert.throws(() => q.getNowait(), QueueEmpty);
    q.putNowait(1);
    assert.throws(() => q.putNowait(2), (err: unknown) => err instanceof QueueFull && err.code === "E_QUEUE_FULL");
  });

  it("aborted puts and gets reject with the reason and neither enqueue nor take an item", async () => {
    const q = new Queue<number>({ maxsize: 1 });
    await q.put(1);
    const controller = new AbortController();
    const put = q.put(2, { signal: controller.signal });
    controller.abort(new Error("stop"));
    await assert.rejects(put, /stop/);
    assert.equal(await q.get(), 1);
    assert.equal(q.empty(), true, "the aborted put left nothing behind");
    const getController = new AbortController();
    const get = q.get({ signal: getController.signal });
    getController.abort(new Error("stop get"));
    await assert.rejects(get, /stop get/);
    await q.put(3);
    assert.equal(q.getNowait(), 3, "the aborted getter did not swallow the item");
  });

  it("taskDone() and join(): join resolves once every item is done; too many taskDone throws", async () => {
    const q = new Queue<number>();
    assert.equal(await q.join(), true);
    await q.put(1);
    await q.put(2);
    const joined = track(q.join());
    await q.get();
    q.taskDone();
    await settle();
    assert.equal(joined.settled(), false);
    assert.equal(await q.join({ timeout: 5 }), false);
    await q.get();
    q.taskDone();
    await settle();
    assert.equal(joined.value(), true);
    assert.throws(() => q.taskDone(), (err: unknown) => err instanceof TooManyTaskDoneError && err.code === "E_TOO_MANY_TASK_DONE");
  });

  it("after shutdown() puts reject, gets drain what is left and then reject", async () => {
    const q = new Queue<number>({ maxsize: 2 });
    await q.put(1);
    await q.put(2);
    const blockedPut = q.put(3);
    q.shutdown();
    await assert.rejects(blockedPut, code("E_QUEUE_SHUT_DOWN"));
    await assert.rejects(q.put(4), QueueShutDown);
    assert.throws(() => q.putNowait(4), QueueShutDown);
    assert.deepEqual([await q.get(), q.getNowait()], [1, 2]);
    await assert.rejects(q.get(), QueueShutDown);
    assert.throws(() => q.getNowait(), QueueShutDown);
    assert.equal(q.isShutdown, true);
  });

  it("shutdown() wakes blocked getters with QueueShutDown", async () => {
    const q = new Queue<number>();
    const getters = [q.get(), q.get()];
    q.shutdown();
    for (const g of getters) await assert.rejects(g, QueueShutDown);
  });

  it("shutdown(true) discards the backlog and releases join()", async () => {
    const q = new Queue<number>();
    await q.put(1);
    await q.put(2);
    const joined = q.join();
    q.shutdown(true);
    assert.equal(await joined, true);
    assert.equal(q.qsize(), 0);
    await assert.rejects(q.get(), QueueShutDown);
  });

  it("for await over a queue yields items and ends at shutdown", async () => {
    const q = new Queue<number>();
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const item of q) seen.push(item);
    })();
    for (const n of [1, 2, 3]) {
      await q.put(n);
      await sleep(1);
    }
    await q.put(4);
    q.shutdown();
    await consumer;
    assert.deepEqual(seen, [1, 2, 3, 4]);
  });

  it("producers and consumers move every item exactly once", async () => {
    const q = new Queue<number>({ maxsize: 4 });
    const consumed: number[] = [];
    const consumers = Array.from({ length: 3 }, async () => {
      for await (const item of q) {
        consumed.push(item);
        await sleep(0);
        q.taskDone();
      }
    });
    await Promise.all(
      Array.from({ length: 4 }, async (_, p) => {
        for (let i = 0; i < 25; i += 1) await q.put(p * 100 + i);
      }),
    );
    await q.join();
    q.shutdown();
    await Promise.all(consumers);
    assert.equal(consumed.length, 100);
    assert.equal(new Set(consumed).size, 100);
  });

  it("Queue rejects a bad maxsize", () => {
    assert.throws(() => new Queue({ maxsize: -1 }), /options\.maxsize must be a non-negative integer/);
    assert.throws(() => new Queue({ maxsize: 1.5 }), RangeError);
  });
});

describe("LifoQueue", () => {
  it("LifoQueue returns the most recent item first and still blocks when full", async () => {
    const q = new LifoQueue<number>({ maxsize: 3 });
    for (const n of [1, 2, 3]) await q.put(n);
    await assert.rejects(q.put(4, { timeout: 5 }), QueueFull);
    assert.deepEqual([q.getNowait(), q.getNowait(), q.getNowait()], [3, 2, 1]);
  });
});

describe("PriorityQueue", () => {
  it("PriorityQueue returns the lowest item first by default", async () => {
    const q = new PriorityQueue<number>();
    for (const n of [5, 1, 4, 2, 3]) await q.put(n);
    const out: number[] = [];
    while (!q.empty()) out.push(await q.get());
    assert.deepEqual(out, [1, 2, 3, 4, 5]);
  });

  it("PriorityQueue keeps items with equal priority in FIFO order", () => {
    const q = new PriorityQueue<{ p: number; name: string }>({ compare: (a, b) => a.p - b.p });
    const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    names.forEach((name, i) => q.putNowait({ p: i % 2, name }));
    const out: string[] = [];
    while (!q.empty()) out.push(q.getNowait().name);
    assert.deepEqual(out, ["a", "c", "e", "g", "b", "d", "f", "h"]);
  });

  it("PriorityQueue rejects a non-function compare", () => {
    assert.throws(() => new PriorityQueue({ compare: 1 as never }), /options\.compare must be a function/);
  });
});
