import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Barrier, BrokenBarrierError } from "../../src/sync/index.js";
import { settle, track } from "./helpers.js";

const isBroken = (err: unknown): boolean => err instanceof BrokenBarrierError && err.code === "E_BROKEN_BARRIER";

describe("Barrier", () => {
  it("Barrier.wait() releases all parties together with distinct indexes, and is reusable", async () => {
    const barrier = new Barrier(3);
    for (let cycle = 0; cycle < 2; cycle += 1) {
      const first = track(barrier.wait());
      const second = track(barrier.wait());
      await settle();
      assert.equal(first.settled(), false);
      assert.equal(barrier.nWaiting, 2);
      const third = await barrier.wait();
      await settle();
      assert.deepEqual([first.value(), second.value(), third].sort(), [0, 1, 2]);
      assert.equal(barrier.nWaiting, 0);
    }
  });

  it("Barrier action runs once per cycle before the parties are released", async () => {
    let actions = 0;
    const barrier = new Barrier(2, { action: () => (actions += 1) });
    await Promise.all([barrier.wait(), barrier.wait()]);
    await Promise.all([barrier.wait(), barrier.wait()]);
    assert.equal(actions, 2);
  });

  it("a throwing action breaks the barrier: its caller gets the error, the others BrokenBarrierError", async () => {
    const barrier = new Barrier(2, {
      action: () => {
        throw new Error("action failed");
      },
    });
    const other = barrier.wait();
    await assert.rejects(barrier.wait(), /action failed/);
    await assert.rejects(other, isBroken);
    assert.equal(barrier.broken, true);
  });

  it("Barrier.abort() rejects current and later waiters until reset()", async () => {
    const barrier = new Barrier(2);
    const waiting = barrier.wait();
    barrier.abort();
    await assert.rejects(waiting, isBroken);
    await assert.rejects(barrier.wait(), isBroken);
    barrier.reset();
    assert.equal(barrier.broken, false);
    assert.deepEqual((await Promise.all([barrier.wait(), barrier.wait()])).sort(), [0, 1]);
  });

  it("Barrier.reset() rejects parties still waiting", async () => {
    const barrier = new Barrier(3);
    const waiting = barrier.wait();
    barrier.reset();
    await assert.rejects(waiting, isBroken);
    assert.equal(barrier.broken, false);
  });

  it("a Barrier.wait() that times out breaks the barrier for everyone", async () => {
    const barrier = new Barrier(3);
    const patient = barrier.wait();
    await assert.rejects(barrier.wait({ timeout: 10 }), isBroken);
    await assert.rejects(patient, isBroken);
    assert.equal(barrier.broken, true);
  });

  it("the constructor's timeout is the default for wait()", async () => {
    const barrier = new Barrier(2, { timeout: 10 });
    await assert.rejects(barrier.wait(), isBroken);
  });

  it("an aborted Barrier.wait() rejects with the reason and breaks the barrier for the others", async () => {
    const barrier = new Barrier(3);
    const other = barrier.wait();
    const controller = new AbortController();
    const aborted = barrier.wait({ signal: controller.signal });
    controller.abort(new Error("leaving"));
    await assert.rejects(aborted, /leaving/);
    await assert.rejects(other, isBroken);
  });

  it("Barrier rejects bad constructor arguments", () => {
    assert.throws(() => new Barrier(0), /parties must be a positive integer/);
    assert.throws(() => new Barrier(2, { action: 1 as never }), /options\.action must be a function/);
    assert.throws(() => new Barrier(2, { timeout: -5 }), /timeout/);
  });

  it("Barrier.wait() rejects bad options without counting the caller as arrived", async () => {
    const barrier = new Barrier(2);
    await assert.rejects(barrier.wait({ timeout: -1 }), /options\.timeout/);
    assert.equal(barrier.nWaiting, 0);
  });
});
