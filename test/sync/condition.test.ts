import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Condition, Lock, NotHeldError, RLock } from "../../src/sync/index.js";
import { settle, sleep, track } from "./helpers.js";

describe("Condition", () => {
  it("Condition.wait() releases the lock and re-acquires it after notify()", async () => {
    const cond = new Condition();
    await cond.acquire();
    const waiting = track(cond.wait());
    assert.equal(cond.locked(), false, "wait() let go of the lock");
    await cond.acquire();
    cond.notify();
    cond.release();
    await settle();
    assert.equal(waiting.value(), true);
    assert.equal(cond.locked(), true, "the waiter holds the lock again");
    cond.release();
  });

  it("Condition.notify(n) wakes the n oldest waiters; notifyAll() the rest", async () => {
    const cond = new Condition();
    const woken: number[] = [];
    const waiters = [1, 2, 3, 4].map((i) =>
      cond.runExclusive(async () => {
        await cond.wait();
        woken.push(i);
      }),
    );
    await settle();
    assert.equal(cond.waiting, 4);
    await cond.runExclusive(() => cond.notify(2));
    await settle();
    assert.deepEqual(woken, [1, 2]);
    await cond.runExclusive(() => cond.notifyAll());
    await Promise.all(waiters);
    assert.deepEqual(woken, [1, 2, 3, 4]);
  });

  it("Condition.waitFor() returns once the predicate holds, or its last value on timeout", async () => {
    const cond = new Condition();
    const items: number[] = [];
    const consumer = cond.runExclusive(async () => {
      const ok = await cond.waitFor(() => items.length >= 2);
      return [ok, items.splice(0)] as const;
    });
    for (const n of [1, 2]) {
      await sleep(2);
      await cond.runExclusive(() => {
        items.push(n);
        cond.notifyAll();
      });
    }
    assert.deepEqual(await consumer, [true, [1, 2]]);
    const late = await cond.runExclusive(() => cond.waitFor(() => items.length, { timeout: 20 }));
    assert.equal(late, 0);
  });

  it("Condition.wait({ timeout }) resolves false and still re-acquires the lock", async () => {
    const cond = new Condition();
    await cond.acquire();
    assert.equal(await cond.wait({ timeout: 10 }), false);
    assert.equal(cond.locked(), true);
    cond.release();
  });

  it("an aborted Condition.wait() rejects with the reason after re-acquiring, and misses no later notify", async () => {
    const cond = new Condition();
    const controller = new AbortController();
    const aborted = cond.runExclusive(async () => {
      await cond.wait({ signal: controller.signal });
    });
    const other = cond.runExclusive(() => cond.wait());
    await settle();
    controller.abort(new Error("cancelled"));
    await assert.rejects(aborted, /cancelled/);
    assert.equal(cond.locked(), false, "runExclusive released the re-acquired lock");
    await cond.runExclusive(() => cond.notify());
    assert.equal(await other, true, "the notify reached the live waiter");
  });

  it("waiting or notifying without the lock is misuse", async () => {
    const cond = new Condition();
    await assert.rejects(cond.wait(), (err: unknown) => err instanceof NotHeldError && err.code === "E_NOT_HELD");
    assert.throws(() => cond.notify(), NotHeldError);
    assert.throws(() => cond.notifyAll(), NotHeldError);
  });

  it("Condition over an RLock saves and restores the recursion level across wait()", async () => {
    const rlock = new RLock();
    const cond = new Condition(rlock);
    const waiter = rlock.runExclusive(() =>
      rlock.runExclusive(async () => {
        assert.equal(rlock.count, 2);
        await cond.wait();
        return rlock.count;
      }),
    );
    await settle();
    assert.equal(rlock.locked(), false, "all levels released while waiting");
    await rlock.runExclusive(() => cond.notify());
    assert.equal(await waiter, 2);
    assert.equal(rlock.locked(), false);
    // Over an RLock, only the owning context may notify.
    const holder = rlock.runExclusive(() => sleep(20));
    await RLock.context(() => assert.throws(() => cond.notify(), NotHeldError));
    await holder;
  });

  it("Condition accepts only a Lock or an RLock", () => {
    assert.throws(() => new Condition({} as Lock), /lock must be a Lock or an RLock/);
    assert.ok(new Condition(new Lock()).lock instanceof Lock);
  });
});
