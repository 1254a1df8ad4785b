import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Manager, ProcessPoolExecutor, task, type DictProxy, type ListProxy } from "../../src/multiprocessing/index.js";
import { alive, reap, start, tasksUrl } from "./helpers.js";

describe("Manager", () => {
  it("holds a dict and a list that four processes update without losing a write", async () => {
    const m = new Manager();
    await m.start();
    try {
      const d = await m.dict<string, number>();
      const l = await m.list<number>();
      const procs = [0, 1, 2, 3].map(() => start("managerWork", [d, l, 25]));
      try {
        for (const p of procs) await p.join();
        assert.deepEqual(procs.map((p) => p.exitCode), [0, 0, 0, 0]);
      } finally {
        await reap(...procs);
      }
      assert.equal(await d.get("count"), 100);
      assert.deepEqual((await l.toArray()).sort(), procs.map((p) => p.pid!).sort());
      await d.update({ a: 1, b: 2 });
      assert.deepEqual(await d.keys(), ["count", "a", "b"]);
      assert.equal(await d.pop("a"), 1);
      assert.equal(await l.length(), 4);
    } finally {
      await m.shutdown();
    }
  });

  it("its Queue and Lock work from pool processes like the primitives", async () => {
    const m = new Manager();
    await m.start();
    const pool = new ProcessPoolExecutor({ maxWorkers: 2 });
    try {
      const q = await m.Queue<number>();
      const lock = await m.Lock();
      await Promise.all([0, 1].map(() => pool.submit(task(tasksUrl, "putPid"), q).result()));
      assert.equal(await q.qsize(), 2);
      assert.equal(await lock.acquire(), true);
      assert.equal(await lock.tryAcquire(), false);
      await lock.release();
      const ns = await m.Namespace({ x: 1 });
      await ns.set("y", [2]);
      assert.deepEqual(await ns.toObject(), { x: 1, y: [2] });
    } finally {
      await pool.shutdown();
      await m.shutdown();
    }
  });

  it("is reached over TCP with its address and auth key, and refuses a wrong key with E_AUTHKEY", async () => {
    const m = new Manager({ address: { host: "127.0.0.1", port: 0 }, authkey: "s3cret" });
    await m.start();
    const pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      const address = m.address;
      assert.ok(typeof address === "object" && address.port > 0);
      const ok = await pool.submit(task(tasksUrl, "connectAndSet"), address, "s3cret", "elsewhere").result();
      assert.equal(ok, 'ok:{"from":"elsewhere"}');
      const refused = await pool.submit(task(tasksUrl, "connectAndSet"), address, "wrong", "x").result();
      assert.equal(refused, "error:E_AUTHKEY");
      await assert.rejects(Manager.connect({ address, authkey: "wrong" }), { name: "AuthkeyError", code: "E_AUTHKEY" });
    } finally {
      await pool.shutdown();
      await m.shutdown();
    }
  });

  it("shutdown() ends the server process; its proxies then fail with E_BROKER_GONE", async () => {
    const m = new Manager();
    await m.start();
    const d: DictProxy = await m.dict();
    const l: ListProxy = await m.list([1]);
    assert.equal(await l.get(0), 1);
    const pid = m.pid!;
    assert.equal(alive(pid), true);
    await m.shutdown();
    assert.equal(alive(pid), false);
    await m.shutdown(); // idempotent
    await assert.rejects(d.get("x"), { name: "BrokerGoneError", code: "E_BROKER_GONE" });
  });
});
