import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { JoinableQueue, Pipe, ProcessPoolExecutor, Queue, QueueEmpty, task } from "../../src/multiprocessing/index.js";
import { alive, reap, start, tasksUrl, until } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "wharf-mp-queue-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("multiprocessing Queue", () => {
  it("carries items from a child to the parent in order, structured-cloned", async () => {
    const q = new Queue<unknown>();
    const items = [...Array.from({ length: 500 }, (_, i) => i), { nested: [1, new Map([["k", 2]])] }, null];
    const child = start("produce", [q, items]);
    try {
      const got: unknown[] = [];
      for (let i = 0; i < items.length; i++) got.push(await q.get({ timeout: 10_000 }));
      assert.deepEqual(got, items);
      await child.join();
      assert.equal(child.exitCode, 0);
    } finally {
      await reap(child);
    }
  });

  it("several producers and consumers in different processes move every item exactly once", async () => {
    const q = new Queue<number>();
    const pool = new ProcessPoolExecutor({ maxWorkers: 4 });
    try {
      const consumers = [0, 1].map(() => pool.submit(task(tasksUrl, "consume"), q, 100));
      const producers = [0, 1].map((p) => pool.submit(task(tasksUrl, "produce"), q, Array.from({ length: 100 }, (_, i) => p * 100 + i)));
      await Promise.all(producers.map((f) => f.result()));
      const taken = (await Promise.all(consumers.map((f) => f.result()))) as number[][];
      assert.deepEqual(taken.flat().sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
      for (const part of taken) {
        // Each producer's items reach each consumer in the order they were put.
        for (const p of [0, 1]) {
          const mine = part.filter((n) => Math.floor(n / 100) === p);
          assert.deepEqual(mine, [...mine].sort((a, b) => a - b));
        }
      }
    } finally {
      await pool.shutdown();
    }
  });

  it("get({ timeout }) in a child fails with QueueEmpty, and putNowait on a full queue with QueueFull", async () => {
    const q = new Queue<number>({ maxsize: 1 });
    const out = new Queue<string>();
    const a = start("getWithTimeout", [q, 30, out]);
    try {
      assert.equal(await out.get(), "QueueEmpty:E_QUEUE_EMPTY");
      await q.put(1);
      const b = start("putNowait", [q, 2, out]);
      assert.equal(await out.get(), "QueueFull:E_QUEUE_FULL");
      await reap(b);
      await assert.rejects(new Queue().get({ timeout: 0 }), QueueEmpty);
    } finally {
      await reap(a);
    }
  });

  it("shutdown() ends a child's for-await loop once the queue is drained, and refuses later puts", async () => {
    const q = new Queue<number>();
    const pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      const reader = pool.submit(task(tasksUrl, "drain"), q);
      for (let i = 0; i < 5; i++) await q.put(i);
      await q.shutdown();
      assert.equal(await reader.result({ timeout: 10_000 }), 5);
      await assert.rejects(q.put(6), { name: "QueueShutDown", code: "E_QUEUE_SHUT_DOWN" });
    } finally {
      await pool.shutdown();
    }
  });

  it("a consumer killed while parked in get() takes no item with it", async () => {
    const q = new Queue<string>();
    const out = new Queue<string>();
    const consumer = start("parkInGet", [q, out]);
    try {
      assert.equal(await out.get(), "parked");
      consumer.kill();
      await consumer.join();
      assert.equal(alive(consumer.pid!), false);
      await q.put("the item");
      assert.equal(await q.get({ timeout: 1000 }), "the item");
    } finally {
      await reap(consumer);
    }
  });

  it("a child whose parent (the queue's holder) exits gets E_BROKER_GONE instead of waiting for ever", async () => {
    const file = join(dir, "outcome.txt");
    const script = fileURLToPath(new URL("./fixtures/parent-dies.js", import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [script, file], { timeout: 20_000 }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    const pid = Number(stdout.trim());
    try {
      assert.ok(await until(() => existsSync(file) && readFileSync(file, "utf8").length > 0), "the orphan reported");
      assert.equal(readFileSync(file, "utf8"), "BrokerGoneError:E_BROKER_GONE");
      assert.ok(await until(() => !alive(pid)), "the orphan exited");
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});

describe("process lifetime with shared objects", () => {
  it("a program that forgets pool.shutdown() still exits once its work is done", async () => {
    const script = fileURLToPath(new URL("./fixtures/forgotten-pool.js", import.meta.url));
    const started = Date.now();
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [script], { timeout: 20_000 }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    assert.match(stdout, /got \d+ and \d+/);
    assert.ok(Date.now() - started < 20_000);
  });

  it("a program waiting in get() stays alive until a daemon child puts the item", async () => {
    const script = fileURLToPath(new URL("./fixtures/daemon-put.js", import.meta.url));
    const result = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, [script], { timeout: 20_000 }, (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout })),
    );
    assert.deepEqual(result, { code: 0, stdout: "got late item\n" });
  });
});

describe("multiprocessing JoinableQueue", () => {
  it("join() resolves once consumers in two processes marked every item done", async () => {
    const q = new JoinableQueue<number | null>();
    const done = new Queue<number>();
    const consumers = [0, 1].map(() => start("joinableConsumer", [q, done]));
    try {
      for (let i = 0; i < 40; i++) await q.put(i);
      assert.equal(await q.join({ timeout: 20_000 }), true);
      const seen: number[] = [];
      for (let i = 0; i < 40; i++) seen.push(await done.get());
      assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
      await q.put(null);
      await q.put(null);
      for (const c of consumers) await c.join();
      assert.deepEqual(consumers.map((c) => c.exitCode), [0, 0]);
      await assert.rejects(q.taskDone(), { code: "E_TOO_MANY_TASK_DONE" });
    } finally {
      await reap(...consumers);
    }
  });
});

describe("multiprocessing Pipe", () => {
  it("carries values both ways between the parent and a child", async () => {
    const [parent, child] = Pipe<number | null>();
    const proc = start("echo", [child]);
    try {
      for (let i = 1; i <= 50; i++) {
        await parent.send(i);
        assert.equal(await parent.recv(), i * 2);
      }
      await parent.send(null);
      await proc.join();
      assert.equal(proc.exitCode, 0);
    } finally {
      await reap(proc);
    }
  });

  it("recv() fails with E_PIPE_CLOSED once the process using the other end died, after what it sent", async () => {
    const [parent, child] = Pipe<number>();
    const out = new Queue<string>();
    const proc = start("recvReport", [child, out]); // takes its end into use, then waits
    try {
      await parent.send(7);
      assert.equal(await out.get(), "ok:7");
      await proc.join();
      await assert.rejects(parent.recv(), { name: "PipeClosedError", code: "E_PIPE_CLOSED" });
      await assert.rejects(parent.send(1), { code: "E_PIPE_CLOSED" });
    } finally {
      await reap(proc);
    }
  });

  it("a one-way pipe only receives on its first end and only sends on its second", async () => {
    const [reader, writer] = Pipe<string>(false);
    await writer.send("one way");
    assert.equal(await reader.poll({ timeout: 100 }), true);
    assert.equal(await reader.recv(), "one way");
    await assert.rejects(reader.send("back"), { code: "E_PIPE_CLOSED" });
  });
});
