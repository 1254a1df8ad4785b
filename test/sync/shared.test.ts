import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import {
  ItemTooLargeError,
  NotHeldError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  SharedEvent,
  SharedLock,
  SharedQueue,
  SharedSemaphore,
  TooManyReleasesError,
  TooManyTaskDoneError,
  WaitTimeoutError,
} from "../../src/sync/index.js";
import { settle, sleep, track, until } from "./helpers.js";

const workerUrl = new URL("./fixtures/shared-worker.js", import.meta.url);

interface Started {
  worker: Worker;
  result: Promise<unknown>;
  message: (text: string) => Promise<void>;
}

/** Starts the fixture worker; `result` resolves with its final answer and rejects if it fails. */
function start(data: Record<string, unknown>): Started {
  const worker = new Worker(workerUrl, { workerData: data });
  const texts: string[] = [];
  const textWaiters = new Map<string, () => void>();
  const result = new Promise<unknown>((resolve, reject) => {
    worker.on("message", (message: unknown) => {
      if (typeof message === "string") {
        texts.push(message);
        textWaiters.get(message)?.();
      } else resolve((message as { result: unknown }).result);
    });
    worker.on("error", reject);
    worker.on("exit", (code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
  const message = (text: string): Promise<void> =>
    texts.includes(text) ? Promise.resolve() : new Promise((resolve) => textWaiters.set(text, resolve));
  return { worker, result, message };
}

async function stop(...started: Started[]): Promise<void> {
  // terminate() settles even for a worker that already exited by itself.
  await Promise.all(started.map(({ worker }) => worker.terminate()));
}

describe("SharedLock", () => {
  it("a SharedLock used by four workers loses no read-modify-write update", async () => {
    const lock = new SharedLock();
    const counter = new SharedArrayBuffer(4);
    const go = new SharedEvent();
    const iterations = 4000;
    const workers = Array.from({ length: 4 }, () =>
      start({ scenario: "lock-counter", lock: lock.handle, counter, iterations, go: go.handle }),
    );
    try {
      await Promise.all(workers.map((w) => w.message("ready")));
      go.set();
      await Promise.all(workers.map((w) => w.result));
      assert.equal(new Int32Array(counter)[0], 4 * iterations);
      assert.equal(lock.locked(), false);
    } finally {
      await stop(...workers);
    }
  });

  it("the main thread waits without blocking its event loop while a worker holds the lock", async () => {
    const lock = new SharedLock();
    const holder = start({ scenario: "lock-hold", lock: lock.handle, ms: 300 });
    try {
      await holder.message("holding");
      assert.equal(lock.tryAcquire(), false);
      assert.equal(await lock.acquire({ timeout: 20 }), false, "timeout resolves false");
      let ticks = 0;
      const ticker = setInterval(() => (ticks += 1), 5);
      const acquired = await lock.acquire();
      clearInterval(ticker);
      assert.equal(acquired, true);
      assert.ok(ticks > 3, `the event loop kept running while waiting (${ticks} ticks)`);
      assert.equal(await holder.result, "released");
      lock.release();
    } finally {
      await stop(holder);
    }
  });

  it("an aborted SharedLock.acquire() rejects with the reason, holds nothing, and passes on its wakeup", async () => {
    const lock = new SharedLock();
    await lock.acquire();
    const controller = new AbortController();
    const aborted = lock.acquire({ signal: controller.signal });
    const live = track(lock.acquire());
    await settle();
    controller.abort(new Error("abandon"));
    await assert.rejects(aborted, /abandon/);
    lock.release();
    assert.equal(await until(live.settled), true, "the wake-up reached the live waiter");
    assert.equal(live.value(), true, "the live waiter got the lock");
    lock.release();
    assert.equal(lock.locked(), false);
  });

  it("SharedLock misuse and options: release of an unlocked lock throws; runExclusive times out", async () => {
    const lock = new SharedLock();
    assert.throws(() => lock.release(), NotHeldError);
    await lock.acquire();
    await assert.rejects(lock.runExclusive(() => 1, { timeout: 10 }), WaitTimeoutError);
    assert.equal(await lock.acquire({ timeout: 0 }), false);
    lock.release();
    assert.equal(await lock.runExclusive(() => 7), 7);
    assert.throws(() => SharedLock.from({ kind: "wharf.SharedEvent", sab: new SharedArrayBuffer(4) } as never), /handle\.kind/);
  });

  it("SharedLock.from(handle) in the same thread is the same lock", async () => {
    const lock = new SharedLock();
    const twin = SharedLock.from(lock.handle);
    assert.equal(twin.tryAcquire(), true);
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(twin.locked(), false);
  });
});

describe("SharedSemaphore", () => {
  it("a SharedSemaphore caps how many workers are inside at once", async () => {
    const sem = new SharedSemaphore(2);
    const stats = new SharedArrayBuffer(8);
    const workers = Array.from({ length: 4 }, () => start({ scenario: "semaphore", sem: sem.handle, stats }));
    try {
      await Promise.all(workers.map((w) => w.result));
      const [inside, maxInside] = new Int32Array(stats);
      assert.equal(inside, 0);
      assert.ok(maxInside! <= 2, `at most 2 inside, saw ${maxInside}`);
      assert.ok(maxInside! >= 1);
      assert.equal(sem.value, 2);
    } finally {
      await stop(...workers);
    }
  });

  it("SharedSemaphore acquire/tryAcquire/release, timeout, abort and the bounded option", async () => {
    const sem = new SharedSemaphore(1, { bounded: true });
    assert.equal(sem.tryAcquire(), true);
    assert.equal(sem.tryAcquire(), false);
    assert.equal(await sem.acquire({ timeout: 10 }), false);
    const controller = new AbortController();
    const aborted = sem.acquire({ signal: controller.signal });
    controller.abort("no");
    await assert.rejects(aborted, (err) => err === "no");
    const waiter = sem.acquire();
    sem.release();
    assert.equal(await waiter, true);
    sem.release();
    assert.throws(() => sem.release(), TooManyReleasesError);
    assert.equal(await SharedSemaphore.from(sem.handle).runExclusive(() => "ok"), "ok");
    const unbounded = new SharedSemaphore(0);
    unbounded.release(3);
    assert.equal(unbounded.value, 3);
  });
});

describe("SharedEvent", () => {
  it("SharedEvent.set() in the main thread wakes a worker waiting on it", async () => {
    const event = new SharedEvent();
    const waiter = start({ scenario: "event-wait", event: event.handle, timeout: 10_000 });
    try {
      await waiter.message("waiting");
      await sleep(20);
      event.set();
      assert.equal(await waiter.result, true);
      assert.equal(event.isSet(), true);
    } finally {
      await stop(waiter);
    }
  });

  it("SharedEvent.wait() times out with false, clear() lowers the flag, abort rejects", async () => {
    const event = new SharedEvent();
    const waiter = start({ scenario: "event-wait", event: event.handle, timeout: 30 });
    try {
      assert.equal(await waiter.result, false);
    } finally {
      await stop(waiter);
    }
    assert.equal(await event.wait({ timeout: 10 }), false);
    event.set();
    assert.equal(await event.wait(), true);
    event.clear();
    assert.equal(event.isSet(), false);
    await assert.rejects(event.wait({ signal: AbortSignal.timeout(10) }), (err: Error) => err.name === "TimeoutError");
  });
});

describe("SharedQueue", () => {
  it("several producer and consumer workers move every item exactly once, then stop at shutdown", async () => {
    const queue = new SharedQueue<number>({ maxsize: 8, itemSize: 32 });
    const consumers = Array.from({ length: 2 }, () => start({ scenario: "queue-consume", queue: queue.handle }));
    const producers = [0, 1000].map((from) =>
      start({ scenario: "queue-produce", queue: queue.handle, from, count: 300 }),
    );
    try {
      await Promise.all(producers.map((p) => p.result));
      for (let i = 0; i < 50; i += 1) await queue.put(5000 + i); // the main thread produces too
      assert.equal(await queue.join({ timeout: 20_000 }), true);
      queue.shutdown();
      const results = (await Promise.all(consumers.map((c) => c.result))) as { sum: number; count: number }[];
      const count = results.reduce((n, r) => n + r.count, 0);
      const sum = results.reduce((n, r) => n + r.sum, 0);
      const expected = [0, 1000].reduce((s, from) => s + 300 * from + (299 * 300) / 2, 0) + 50 * 5000 + (49 * 50) / 2;
      assert.equal(count, 650);
      assert.equal(sum, expected);
    } finally {
      await stop(...consumers, ...producers);
    }
  });

  it("SharedQueue is FIFO, bounded, and round-trips structured data", async () => {
    const queue = new SharedQueue<unknown>({ maxsize: 2, itemSize: 256 });
    const value = { n: 1, when: new Date(0), tags: new Set(["a"]), bytes: new Uint8Array([1, 2]) };
    await queue.put(value);
    queue.putNowait("second");
    assert.equal(queue.full(), true);
    assert.throws(() => queue.putNowait("x"), QueueFull);
    await assert.rejects(queue.put("x", { timeout: 10 }), (err: unknown) => (err as QueueFull).code === "E_QUEUE_FULL");
    assert.deepEqual(await queue.get(), value);
    assert.equal(queue.getNowait(), "second");
    assert.throws(() => queue.getNowait(), QueueEmpty);
    await assert.rejects(queue.get({ timeout: 10 }), (err: unknown) => (err as QueueEmpty).code === "E_QUEUE_EMPTY");
  });

  it("SharedQueue.put() of an item larger than itemSize rejects with ItemTooLargeError", async () => {
    const queue = new SharedQueue<string>({ maxsize: 2, itemSize: 16 });
    await assert.rejects(queue.put("x".repeat(100)), (err: unknown) => err instanceof ItemTooLargeError && err.code === "E_ITEM_TOO_LARGE");
    assert.equal(queue.qsize(), 0);
  });

  it("SharedQueue waits: a blocked put proceeds after a get; an aborted get takes nothing", async () => {
    const queue = new SharedQueue<number>({ maxsize: 1, itemSize: 16 });
    await queue.put(1);
    const blocked = track(queue.put(2));
    await sleep(10);
    assert.equal(blocked.settled(), false);
    assert.equal(await queue.get(), 1);
    assert.equal(await until(blocked.settled), true, "the blocked put went through");
    assert.equal(await queue.get(), 2);
    const controller = new AbortController();
    const aborted = queue.get({ signal: controller.signal });
    controller.abort(new Error("stop"));
    await assert.rejects(aborted, /stop/);
    await queue.put(3);
    assert.equal(await queue.get({ timeout: 1000 }), 3);
  });

  it("SharedQueue taskDone/join and shutdown follow the Queue rules", async () => {
    const queue = new SharedQueue<number>({ maxsize: 4, itemSize: 16 });
    assert.throws(() => queue.taskDone(), TooManyTaskDoneError);
    await queue.put(1);
    await queue.put(2);
    assert.equal(await queue.join({ timeout: 10 }), false);
    await queue.get();
    queue.taskDone();
    queue.shutdown();
    await assert.rejects(queue.put(3), QueueShutDown);
    assert.equal(await queue.get(), 2, "gets drain what is left");
    await assert.rejects(queue.get(), QueueShutDown);
    queue.taskDone();
    assert.equal(await queue.join(), true);
    const other = new SharedQueue<number>({ maxsize: 4, itemSize: 16 });
    await other.put(1);
    const blockedGetter = new SharedQueue<number>({ maxsize: 1, itemSize: 16 });
    const waiting = blockedGetter.get();
    blockedGetter.shutdown();
    await assert.rejects(waiting, QueueShutDown);
    other.shutdown(true);
    assert.equal(other.qsize(), 0);
    assert.equal(await other.join(), true);
  });

  it("SharedQueue rejects bad options and foreign handles", () => {
    assert.throws(() => new SharedQueue({ maxsize: 0 }), /options\.maxsize must be an integer between 1/);
    assert.throws(() => new SharedQueue({ itemSize: 0 }), /options\.itemSize/);
    assert.throws(() => SharedQueue.from({ kind: "wharf.SharedQueue", sab: new SharedArrayBuffer(8) }), /handle\.sab/);
  });
});
