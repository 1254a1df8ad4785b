import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Event, NotHeldError, NotOwnerError, RLock, WaitTimeoutError } from "../../src/sync/index.js";
import { settle, sleep, track } from "./helpers.js";

describe("RLock", () => {
  it("RLock.runExclusive() nests in the same context without deadlock", async () => {
    const rlock = new RLock();
    const result = await rlock.runExclusive(async () => {
      assert.equal(rlock.count, 1);
      return rlock.runExclusive(async () => {
        assert.equal(rlock.count, 2);
        await sleep(1);
        return rlock.runExclusive(() => "deep");
      });
    });
    assert.equal(result, "deep");
    assert.equal(rlock.locked(), false);
  });

  it("RLock.runExclusive() from other contexts waits its turn (first-come first-served)", async () => {
    const rlock = new RLock();
    const order: string[] = [];
    let inside = 0;
    const job = (name: string) =>
      rlock.runExclusive(async () => {
        inside += 1;
        assert.equal(inside, 1, "only one context inside");
        await sleep(2);
        await rlock.runExclusive(() => order.push(name));
        inside -= 1;
      });
    await Promise.all([job("a"), job("b"), job("c")]);
    assert.deepEqual(order, ["a", "b", "c"]);
  });

  it("bare RLock.acquire() re-enters along one await chain", async () => {
    const rlock = new RLock();
    assert.equal(await rlock.acquire(), true);
    assert.equal(await rlock.acquire(), true);
    assert.equal(rlock.tryAcquire(), true);
    assert.equal(rlock.count, 3);
    rlock.release();
    rlock.release();
    assert.equal(rlock.locked(), true);
    rlock.release();
    assert.equal(rlock.locked(), false);
  });

  it("bare RLock.acquire() in async functions started in the same turn keeps them apart", async () => {
    const rlock = new RLock();
    let inside = 0;
    let maxInside = 0;
    const worker = async (): Promise<void> => {
      await rlock.acquire();
      try {
        inside += 1;
        maxInside = Math.max(maxInside, inside);
        await sleep(2);
        await rlock.acquire(); // re-entry along its own chain
        rlock.release();
        inside -= 1;
      } finally {
        rlock.release();
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.equal(maxInside, 1);
    assert.equal(rlock.locked(), false);
    // Wrapping each task in its own context works from anywhere, even inside another context.
    maxInside = 0;
    await RLock.context(() => Promise.all([1, 2, 3].map(() => RLock.context(worker))));
    assert.equal(maxInside, 1);
  });

  it("a bare acquire after the chain released everything does not inherit a stale identity", async () => {
    const rlock = new RLock();
    await rlock.acquire();
    rlock.release();
    // The enterWith above leaked into this function's later async work; it must not make later tasks re-entrant.
    let inside = 0;
    let maxInside = 0;
    const worker = async (): Promise<void> => {
      await rlock.acquire();
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      await sleep(2);
      inside -= 1;
      rlock.release();
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.equal(maxInside, 1);
  });

  it("RLock.context() gives concurrently started tasks their own identity", async () => {
    const rlock = new RLock();
    const first = RLock.context(async () => {
      await rlock.acquire();
      await sleep(20);
      rlock.release();
    });
    const second = track(
      RLock.context(async () => {
        await sleep(5);
        return rlock.acquire();
      }),
    );
    await sleep(10);
    assert.equal(second.settled(), false, "a sibling context waits");
    await first;
    await settle();
    assert.equal(second.value(), true);
  });

  it("a context started inside the holder's context counts as the holder's chain", async () => {
    const rlock = new RLock();
    await rlock.runExclusive(async () => {
      assert.equal(await RLock.context(() => rlock.acquire({ timeout: 0 })), true);
      rlock.release();
    });
  });

  it("RLock.release() by a context that does not own it throws NotOwnerError", async () => {
    const rlock = new RLock();
    await rlock.runExclusive(async () => {
      await RLock.context(async () => {
        // A fresh sibling context (not a child of the owner) may not release it.
      });
    });
    const holder = RLock.context(async () => {
      await rlock.acquire();
      await sleep(20);
      rlock.release();
    });
    await sleep(5);
    await RLock.context(() => {
      assert.throws(() => rlock.release(), (err: unknown) => err instanceof NotOwnerError && err.code === "E_NOT_OWNER");
    });
    await holder;
    assert.equal(rlock.locked(), false);
  });

  it("RLock.release() when unlocked throws NotHeldError", () => {
    assert.throws(() => new RLock().release(), NotHeldError);
  });

  it("RLock.acquire({ timeout }) from another context resolves false; abort rejects with the reason", async () => {
    const rlock = new RLock();
    const done = new Event(); // the holder keeps the lock until the checks are over, however slow the machine
    const holding = new Event();
    const holder = RLock.context(async () => {
      await rlock.acquire();
      holding.set();
      await done.wait();
      rlock.release();
    });
    await holding.wait();
    await RLock.context(async () => {
      assert.equal(await rlock.acquire({ timeout: 10 }), false);
      const reason = new Error("abort");
      const timed = new AbortController(); // AbortSignal.timeout() would not keep this test's event loop alive
      setTimeout(() => timed.abort(new Error("timed abort")), 5);
      await assert.rejects(rlock.acquire({ signal: timed.signal }), /timed abort/);
      const controller = new AbortController();
      const pending = rlock.acquire({ signal: controller.signal });
      controller.abort(reason);
      await assert.rejects(pending, (err) => err === reason);
    });
    done.set();
    await holder;
    assert.equal(rlock.locked(), false, "no aborted or timed-out waiter got the lock");
  });

  it("RLock.runExclusive({ timeout }) rejects with WaitTimeoutError", async () => {
    const rlock = new RLock();
    const holder = rlock.runExclusive(() => sleep(50));
    await assert.rejects(rlock.runExclusive(() => 1, { timeout: 5 }), WaitTimeoutError);
    await holder;
  });

  it("RLock.isOwned() tells the owner context from others", async () => {
    const rlock = new RLock();
    assert.equal(rlock.isOwned(), false);
    await rlock.runExclusive(async () => {
      assert.equal(rlock.isOwned(), true);
      await RLock.context(async () => {
        // a child context of the owner counts as the owner's chain
        assert.equal(rlock.isOwned(), true);
      });
    });
    const holder = rlock.runExclusive(() => sleep(10));
    await RLock.context(() => assert.equal(rlock.isOwned(), false));
    await holder;
  });
});
