import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Lock, NotHeldError, WaitTimeoutError } from "../../src/sync/index.js";
import { settle, sleep, track } from "./helpers.js";

describe("Lock", () => {
  it("Lock.acquire() takes a free lock at once and release() frees it", async () => {
    const lock = new Lock();
    assert.equal(lock.locked(), false);
    assert.equal(await lock.acquire(), true);
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(lock.locked(), false);
  });

  it("Lock.acquire() waits while another caller holds the lock", async () => {
    const lock = new Lock();
    await lock.acquire();
    const second = track(lock.acquire());
    await settle();
    assert.equal(second.settled(), false);
    assert.equal(lock.waiting, 1);
    lock.release();
    await settle();
    assert.equal(second.value(), true);
    assert.equal(lock.locked(), true, "handed over, still locked");
    lock.release();
  });

  it("Lock.tryAcquire() succeeds only when free", () => {
    const lock = new Lock();
    assert.equal(lock.tryAcquire(), true);
    assert.equal(lock.tryAcquire(), false);
    lock.release();
    assert.equal(lock.tryAcquire(), true);
    lock.release();
  });

  it("Lock.release() of an unlocked lock throws NotHeldError at once", () => {
    const lock = new Lock();
    assert.throws(() => lock.release(), (err: unknown) => err instanceof NotHeldError && err.code === "E_NOT_HELD");
  });

  it("Lock waiters are served first-come first-served and a late tryAcquire cannot barge in", async () => {
    const lock = new Lock();
    await lock.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3, 4, 5].map((i) =>
      lock.acquire().then(() => {
        order.push(i);
        setTimeout(() => lock.release(), 1);
      }),
    );
    lock.release();
    assert.equal(lock.tryAcquire(), false, "the oldest waiter already owns it");
    await Promise.all(waiters);
    assert.deepEqual(order, [1, 2, 3, 4, 5]);
  });

  it("Lock.acquire({ timeout }) resolves false when the lock stays held, and leaves the line", async () => {
    const lock = new Lock();
    await lock.acquire();
    const started = performance.now();
    assert.equal(await lock.acquire({ timeout: 30 }), false);
    assert.ok(performance.now() - started >= 25);
    assert.equal(lock.waiting, 0);
    lock.release();
    assert.equal(lock.locked(), false, "nobody was handed the lock after timing out");
  });

  it("Lock.acquire({ timeout: 0 }) only tries", async () => {
    const lock = new Lock();
    assert.equal(await lock.acquire({ timeout: 0 }), true);
    assert.equal(await lock.acquire({ timeout: 0 }), false);
    lock.release();
  });

  it("an aborted Lock.acquire() rejects with the signal's reason and is never handed the lock", async () => {
    const lock = new Lock();
    await lock.acquire();
    const controller = new AbortController();
    const aborted = lock.acquire({ signal: controller.signal });
    const next = track(lock.acquire());
    const reason = new Error("stop waiting");
    controller.abort(reason);
    await assert.rejects(aborted, (err) => err === reason);
    lock.release();
    await settle();
    assert.equal(next.value(), true, "the lock skipped the aborted waiter");
    lock.release();
    assert.equal(lock.locked(), false);
  });

  it("Lock.acquire() with an already aborted signal rejects even when the lock is free", async () => {
    const lock = new Lock();
    await assert.rejects(lock.acquire({ signal: AbortSignal.abort("no") }), (err) => err === "no");
    assert.equal(lock.locked(), false);
  });

  it("a waiter whose timeout fires after it was granted keeps the lock (no leak, no double grant)", async () => {
    const lock = new Lock();
    await lock.acquire();
    const got = lock.acquire({ timeout: 20 });
    lock.release(); // granted synchronously, so its timer must be disarmed
    await sleep(40);
    assert.equal(await got, true);
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(lock.locked(), false);
  });

  it("Lock.runExclusive() runs callers one at a time and releases after a throw", async () => {
    const lock = new Lock();
    let inside = 0;
    let maxInside = 0;
    const work = async (): Promise<void> => {
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      await sleep(1);
      inside -= 1;
    };
    await Promise.all(Array.from({ length: 10 }, () => lock.runExclusive(work)));
    assert.equal(maxInside, 1);
    await assert.rejects(lock.runExclusive(() => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(lock.locked(), false);
    assert.equal(await lock.runExclusive(() => 42), 42);
  });

  it("Lock.runExclusive({ timeout }) rejects with WaitTimeoutError and does not run fn", async () => {
    const lock = new Lock();
    await lock.acquire();
    let ran = false;
    await assert.rejects(
      lock.runExclusive(() => {
        ran = true;
      }, { timeout: 10 }),
      (err: unknown) => err instanceof WaitTimeoutError && err.code === "E_TIMEOUT",
    );
    assert.equal(ran, false);
    lock.release();
  });

  it("Lock keeps a read-modify-write counter right under heavy interleaving", async () => {
    const lock = new Lock();
    let counter = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let i = 0; i < 20; i += 1) {
          await lock.runExclusive(async () => {
            const seen = counter;
            await Promise.resolve();
            counter = seen + 1;
          });
        }
      }),
    );
    assert.equal(counter, 1000);
  });

  it("Lock.acquire() rejects bad options with errors naming them (and takes nothing)", async () => {
    const lock = new Lock();
    await assert.rejects(lock.acquire({ timeout: -1 }), /options\.timeout must be a non-negative/);
    await assert.rejects(lock.acquire({ timeout: Number.NaN }), RangeError);
    await assert.rejects(lock.acquire({ signal: {} as AbortSignal }), /options\.signal must be an AbortSignal/);
    assert.equal(lock.locked(), false);
  });
});
