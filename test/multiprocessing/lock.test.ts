import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Barrier, BoundedSemaphore, Lock, NotOwnerError, Queue, RLock, Semaphore } from "../../src/multiprocessing/index.js";
import { alive, reap, start, until } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "wharf-mp-lock-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Three processes each add 1 to a JSON file `times` times (read, sleep, write), starting together. */
async function race(lock: Lock | null, name: string, times: number): Promise<number> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, "0");
  const startLine = new Barrier(3);
  const procs = [0, 1, 2].map(() => start("bumpTogether", [startLine, file, times, lock]));
  try {
    for (const p of procs) await p.join();
    assert.deepEqual(procs.map((p) => p.exitCode), [0, 0, 0]);
  } finally {
    await reap(...procs);
  }
  return JSON.parse(readFileSync(file, "utf8")) as number;
}

describe("multiprocessing Lock", () => {
  it("loses counts between processes without the lock and none with it", async () => {
    assert.ok((await race(null, "unsafe", 20)) < 60, "three unlocked processes lose updates");
    assert.equal(await race(new Lock(), "safe", 20), 60);
  });

  it("hands the lock to waiting processes in the order they asked (FIFO)", async () => {
    const lock = new Lock();
    const order = new Queue<string>();
    await lock.acquire();
    const procs: ReturnType<typeof start>[] = [];
    try {
      for (const name of ["a", "b", "c"]) {
        procs.push(start("takeInTurn", [lock, order, name]));
        const queued = procs.length;
        assert.ok(await until(async () => (await lock.waiting()) === queued), `${name} is waiting`);
      }
      await lock.release();
      assert.deepEqual([await order.get(), await order.get(), await order.get()], ["a", "b", "c"]);
    } finally {
      await reap(...procs);
    }
  });

  it("acquire({ timeout }) gives up with false in a child, and in the parent while a child holds it", async () => {
    const lock = new Lock();
    const out = new Queue<string>();
    await lock.acquire();
    const waiter = start("acquireWithTimeout", [lock, 50, out]);
    try {
      assert.equal(await out.get(), "ok:false");
      await lock.release();
      const holder = start("holdForever", [lock, out]);
      assert.equal(await out.get(), "holding");
      assert.equal(await lock.acquire({ timeout: 30 }), false);
      assert.equal(await lock.tryAcquire(), false);
      await reap(holder);
    } finally {
      await reap(waiter);
    }
  });

  it("an aborted acquire() in a child rejects with the signal's reason and holds nothing", async () => {
    const lock = new Lock();
    const out = new Queue<string>();
    await lock.acquire();
    const child = start("acquireAborted", [lock, 50, out]);
    try {
      assert.equal(await out.get(), "TimeoutError:23"); // AbortSignal.timeout()'s DOMException, code 23
      assert.equal(await lock.waiting(), 0);
      await lock.release();
      assert.equal(await lock.locked(), false);
    } finally {
      await reap(child);
    }
  });

  it("a child killed while holding the lock does not deadlock the others: the next waiter gets it", async () => {
    const lock = new Lock();
    const out = new Queue<string>();
    const holder = start("holdForever", [lock, out]);
    let next: ReturnType<typeof start> | undefined;
    try {
      assert.equal(await out.get(), "holding");
      next = start("takeInTurn", [lock, out, "next"]); // only now, so that it queues behind the holder
      assert.ok(await until(async () => (await lock.waiting()) === 1));
      holder.kill();
      await holder.join();
      assert.equal(holder.exitCode, -9);
      assert.equal(alive(holder.pid!), false);
      assert.equal(await out.get({ timeout: 10_000 }), "next");
      assert.equal(await lock.acquire({ timeout: 10_000 }), true);
      await lock.release();
    } finally {
      await reap(holder, ...(next === undefined ? [] : [next]));
    }
  });
});

describe("multiprocessing RLock", () => {
  it("is re-entered by the process that holds it and released as many times", async () => {
    const rlock = new RLock();
    const out = new Queue<string>();
    const child = start("reenter", [rlock, out]);
    try {
      assert.equal(await out.get(), "owned:true");
      assert.equal(await out.get(), "owned:false");
      await child.join();
      assert.equal(child.exitCode, 0);
      assert.equal(await rlock.locked(), false);
    } finally {
      await reap(child);
    }
  });

  it("release() by a process that does not own it fails with NotOwnerError (E_NOT_OWNER)", async () => {
    const rlock = new RLock();
    const out = new Queue<string>();
    await rlock.acquire();
    const child = start("releaseForeign", [rlock, out]);
    try {
      assert.equal(await out.get(), "NotOwnerError:E_NOT_OWNER");
      assert.equal(await rlock.isOwned(), true);
      await rlock.release();
      await assert.rejects(rlock.release(), (err: NotOwnerError) => err.code === "E_NOT_HELD");
    } finally {
      await reap(child);
    }
  });
});

describe("multiprocessing Semaphore", () => {
  it("gives back the permits of a child killed while holding them", async () => {
    const sem = new Semaphore(2);
    const out = new Queue<string>();
    const holder = start("holdPermits", [sem, 2, out]);
    try {
      assert.equal(await out.get(), "holding");
      assert.equal(await sem.getValue(), 0);
      assert.equal(await sem.acquire({ timeout: 20 }), false);
      holder.kill();
      assert.equal(await sem.acquire({ timeout: 10_000 }), true);
      assert.equal(await sem.acquire({ timeout: 10_000 }), true);
      await sem.release(2);
      assert.equal(await sem.getValue(), 2);
    } finally {
      await reap(holder);
    }
  });

  it("a BoundedSemaphore refuses a release past its value with E_TOO_MANY_RELEASES", async () => {
    const sem = new BoundedSemaphore(1);
    await assert.rejects(sem.release(), { name: "TooManyReleasesError", code: "E_TOO_MANY_RELEASES" });
    assert.equal(await sem.tryAcquire(), true);
    assert.equal(await sem.tryAcquire(), false);
    await sem.release();
  });
});
