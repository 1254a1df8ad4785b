import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { asCompleted, CancelledError, Future, TimeoutError, wait } from "../../src/pool/index.js";

function later<T>(ms: number, settle: (f: Future<T>) => void): Future<T> {
  const future = new Future<T>();
  future.setRunningOrNotifyCancel();
  setTimeout(() => settle(future), ms);
  return future;
}

describe("Future", () => {
  it("Future.result() resolves the value set by the executor, and state methods follow", async () => {
    const future = new Future<number>();
    assert.deepEqual([future.done(), future.running(), future.cancelled()], [false, false, false]);
    assert.equal(future.setRunningOrNotifyCancel(), true);
    assert.equal(future.running(), true);
    future.setResult(7);
    assert.equal(await future.result(), 7);
    assert.equal(await future.exception(), undefined);
    assert.deepEqual([future.done(), future.running()], [true, false]);
    assert.throws(() => future.setResult(8), /already finished/);
  });

  it("Future.result() rejects with the error and exception() resolves it", async () => {
    const future = new Future();
    const error = new Error("bad");
    future.setException(error);
    await assert.rejects(future.result(), (err) => err === error);
    assert.equal(await future.exception(), error);
  });

  it("Future.cancel() succeeds only while pending; result() then rejects with CancelledError", async () => {
    const queued = new Future();
    assert.equal(queued.cancel(), true);
    assert.equal(queued.cancel(), true, "cancelling twice is fine");
    assert.equal(queued.cancelled(), true);
    assert.equal(queued.setRunningOrNotifyCancel(), false);
    await assert.rejects(queued.result(), (err: unknown) => err instanceof CancelledError && err.code === "E_CANCELLED");
    await assert.rejects(queued.exception(), CancelledError);
    const running = new Future();
    running.setRunningOrNotifyCancel();
    assert.equal(running.cancel(), false);
    running.setResult(1);
    assert.equal(running.cancel(), false);
  });

  it("Future.result({ timeout }) rejects with TimeoutError and the future keeps going", async () => {
    const future = new Future<string>();
    future.setRunningOrNotifyCancel();
    await assert.rejects(future.result({ timeout: 10 }), (err: unknown) => err instanceof TimeoutError && err.code === "E_TIMEOUT");
    await assert.rejects(future.exception({ timeout: 5 }), TimeoutError);
    assert.equal(future.running(), true, "a timeout does not touch the future");
    setTimeout(() => future.setResult("late"), 5);
    assert.equal(await future.result({ timeout: 60_000 }), "late");
  });

  it("Future.addDoneCallback() calls back on completion, and at once when already done", async () => {
    const future = new Future<number>();
    const calls: string[] = [];
    future.addDoneCallback((f) => calls.push(`first ${f.done()}`));
    future.addDoneCallback(() => calls.push("second"));
    assert.equal(calls.length, 0);
    future.setRunningOrNotifyCancel();
    future.setResult(1);
    assert.deepEqual(calls, ["first true", "second"]);
    future.addDoneCallback((f) => calls.push(`late ${f === future}`));
    assert.deepEqual(calls, ["first true", "second", "late true"]);
    const cancelled = new Future();
    cancelled.addDoneCallback((f) => calls.push(`cancelled ${f.cancelled()}`));
    cancelled.cancel();
    assert.equal(calls.at(-1), "cancelled true");
  });

  it("a throwing done callback is reported as a warning and does not stop the others", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on("warning", onWarning);
    try {
      const future = new Future();
      let ran = false;
      future.addDoneCallback(() => {
        throw new Error("callback bug");
      });
      future.addDoneCallback(() => (ran = true));
      future.cancel();
      assert.equal(ran, true);
      await sleep(10);
      assert.ok(warnings.some((w) => /callback bug/.test(w.message)));
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("wait()", () => {
  it("wait() with ALL_COMPLETED resolves when every future is done", async () => {
    const fs = [later(5, (f) => f.setResult(1)), later(20, (f) => f.setResult(2))];
    const { done, notDone } = await wait(fs);
    assert.equal(done.size, 2);
    assert.equal(notDone.size, 0);
  });

  it("wait() with FIRST_COMPLETED resolves at the first completion", async () => {
    const fast = later(5, (f) => f.setResult("fast"));
    const slow = later(200, (f) => f.setResult("slow"));
    const { done, notDone } = await wait([fast, slow], { returnWhen: "FIRST_COMPLETED" });
    assert.deepEqual([...done], [fast]);
    assert.deepEqual([...notDone], [slow]);
    await slow.result();
  });

  it("wait() with FIRST_EXCEPTION resolves at the first failure, ignoring successes and cancellations", async () => {
    const ok = later(2, (f) => f.setResult(1));
    const cancelled = new Future();
    cancelled.cancel();
    const bad = later(20, (f) => f.setException(new Error("x")));
    const slow = later(300, (f) => f.setResult(3));
    const { done, notDone } = await wait([ok, cancelled, bad, slow], { returnWhen: "FIRST_EXCEPTION" });
    assert.ok(done.has(bad) && done.has(ok) && done.has(cancelled));
    assert.deepEqual([...notDone], [slow]);
    await slow.result();
  });

  it("wait() resolves with what is done when the timeout runs out", async () => {
    const slow = later(200, (f) => f.setResult(1));
    const { done, notDone } = await wait([slow], { timeout: 10 });
    assert.equal(done.size, 0);
    assert.deepEqual([...notDone], [slow]);
    await slow.result();
  });

  it("wait() validates its arguments", async () => {
    await assert.rejects(wait([new Future()], { returnWhen: "SOMETIMES" as never }), /options\.returnWhen/);
    await assert.rejects(wait([{} as Future]), /only Future objects/);
  });
});

describe("asCompleted()", () => {
  it("asCompleted() yields done futures first, then the others as they complete", async () => {
    const already = new Future<string>();
    already.setResult("already");
    const slow = later<string>(40, (f) => f.setResult("slow"));
    const fast = later<string>(5, (f) => f.setResult("fast"));
    const order: string[] = [];
    for await (const f of asCompleted([slow, fast, already, fast])) order.push(await f.result());
    assert.deepEqual(order, ["already", "fast", "slow"]);
  });

  it("asCompleted({ timeout }) throws TimeoutError when futures remain unfinished", async () => {
    const fast = later(1, (f) => f.setResult(1));
    const slow = later(300, (f) => f.setResult(2));
    const seen: Future[] = [];
    await assert.rejects(
      (async () => {
        for await (const f of asCompleted([fast, slow], { timeout: 30 })) seen.push(f);
      })(),
      (err: unknown) => err instanceof TimeoutError && /1 of 2/.test((err as Error).message),
    );
    assert.deepEqual(seen, [fast]);
    await slow.result();
  });
});
