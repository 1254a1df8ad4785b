import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BoundedSemaphore, Semaphore, TooManyReleasesError, WaitTimeoutError } from "../../src/sync/index.js";
import { settle, sleep, track } from "./helpers.js";

describe("Semaphore", () => {
  it("Semaphore.acquire() takes permits until none are left, then waits", async () => {
    const sem = new Semaphore(2);
    assert.equal(await sem.acquire(), true);
    assert.equal(await sem.acquire(), true);
    assert.equal(sem.value, 0);
    const third = track(sem.acquire());
    await settle();
    assert.equal(third.settled(), false);
    sem.release();
    await settle();
    assert.equal(third.value(), true);
    assert.equal(sem.value, 0, "the permit went straight to the waiter");
  });

  it("Semaphore.tryAcquire() and release(n) wake waiters in arrival order", async () => {
    const sem = new Semaphore(0);
    assert.equal(sem.tryAcquire(), false);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((i) => sem.acquire().then(() => order.push(i)));
    sem.release(2);
    await settle();
    assert.deepEqual(order, [1, 2]);
    sem.release();
    await Promise.all(waiters);
    assert.deepEqual(order, [1, 2, 3]);
    sem.release(5);
    assert.equal(sem.value, 5, "a plain Semaphore may grow past its initial value");
  });

  it("Semaphore.acquire({ timeout }) resolves false; abort rejects and gives no permit away", async () => {
    const sem = new Semaphore(0);
    assert.equal(await sem.acquire({ timeout: 15 }), false);
    const controller = new AbortController();
    const aborted = sem.acquire({ signal: controller.signal });
    controller.abort(new Error("gone"));
    await assert.rejects(aborted, /gone/);
    assert.equal(sem.waiting, 0);
    sem.release();
    assert.equal(sem.value, 1, "the permit stayed in the semaphore");
  });

  it("Semaphore.runExclusive() caps concurrency at the number of permits", async () => {
    const sem = new Semaphore(3);
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        sem.runExclusive(async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          await sleep(2);
          inside -= 1;
        }),
      ),
    );
    assert.equal(maxInside, 3);
    assert.equal(sem.value, 3);
    await assert.rejects(sem.runExclusive(() => Promise.reject(new Error("x"))), /x/);
    assert.equal(sem.value, 3, "released after a throw");
  });

  it("Semaphore.runExclusive({ timeout }) rejects with WaitTimeoutError", async () => {
    const sem = new Semaphore(0);
    await assert.rejects(sem.runExclusive(() => 1, { timeout: 5 }), WaitTimeoutError);
  });

  it("Semaphore rejects a bad initial value, bad release counts and bad wait options", async () => {
    await assert.rejects(new Semaphore(1).acquire({ timeout: -1 }), /options\.timeout/);
    assert.throws(() => new Semaphore(-1), /value must be a non-negative integer/);
    assert.throws(() => new Semaphore(1.5), RangeError);
    assert.throws(() => new Semaphore(1).release(0), /n must be a positive integer/);
  });
});

describe("BoundedSemaphore", () => {
  it("BoundedSemaphore.release() beyond the initial value throws TooManyReleasesError", async () => {
    const sem = new BoundedSemaphore(2);
    assert.throws(() => sem.release(), (err: unknown) => err instanceof TooManyReleasesError && err.code === "E_TOO_MANY_RELEASES");
    await sem.acquire();
    await sem.acquire();
    assert.throws(() => sem.release(3), TooManyReleasesError);
    sem.release(2);
    assert.equal(sem.value, 2);
    assert.throws(() => sem.release(), TooManyReleasesError);
  });

  it("BoundedSemaphore hands a released permit to a waiter without tripping the bound", async () => {
    const sem = new BoundedSemaphore(1);
    await sem.acquire();
    const waiter = sem.acquire();
    sem.release();
    assert.equal(await waiter, true);
    sem.release();
    assert.equal(sem.value, 1);
  });
});
