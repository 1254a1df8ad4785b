import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pipe, Process, ProcessPoolExecutor, Queue, task } from "../../src/multiprocessing/index.js";
import { alive, reap, until } from "./helpers.js";

const pipeTasks = new URL("./fixtures/pipe-tasks.js", import.meta.url);
const tasksUrl = new URL("./fixtures/tasks.js", import.meta.url);

function start(name: string, args: unknown[], url = pipeTasks): Process {
  const p = new Process(task(url, name), args);
  p.start();
  return p;
}

describe("multiprocessing Pipe: an end in the parent, the other in a child", () => {
  it("values sent before the child took its end arrive first, in order, structured-cloned both ways", async () => {
    const [parent, child] = Pipe();
    const values: unknown[] = [1, "two", { three: [3] }, new Map([["four", new Set([4])]]), new Date(5), undefined, NaN, -0, null];
    for (const v of values.slice(0, 3)) await parent.send(v); // queued at the broker until the child attaches
    const proc = start("mirror", [child]);
    try {
      for (const v of values.slice(3)) await parent.send(v);
      const got: unknown[] = [];
      for (let i = 0; i < values.length; i++) got.push(await parent.recv());
      assert.deepEqual(got, values);
      assert.ok(Object.is(got[7], -0));
      await parent.send("stop");
      await proc.join();
      assert.equal(proc.exitCode, 0);
    } finally {
      await reap(proc);
    }
  });

  it("a child killed mid-stream: the parent reads what arrived, then E_PIPE_CLOSED from recv() and poll() says ready", async () => {
    const [parent, child] = Pipe<number>();
    const q = new Queue<string>();
    const proc = start("spew", [child, q]);
    try {
      assert.equal(await q.get({ timeout: 20_000 }), "sending");
      assert.equal(await parent.recv(), 0);
      proc.kill();
      await proc.join();
      let expected = 1;
      const error = await (async () => {
        for (;;) {
          try {
            assert.equal(await parent.recv(), expected++); // in order, nothing lost before the death
          } catch (err) {
            return err;
          }
        }
      })();
      assert.equal((error as { code?: string }).code, "E_PIPE_CLOSED");
      assert.equal(await parent.poll(), true);
      await assert.rejects(parent.send(1), { code: "E_PIPE_CLOSED" });
    } finally {
      await reap(proc);
    }
  });

  it("close() by the child: the parent drains, then E_PIPE_CLOSED; close() by the parent: the child drains, then E_PIPE_CLOSED", async () => {
    const [a, b] = Pipe();
    const writer = start("sendAndClose", [b, ["x", 2, { y: 3 }]]);
    try {
      await writer.join();
      assert.equal(writer.exitCode, 0);
      assert.deepEqual([await a.recv(), await a.recv(), await a.recv()], ["x", 2, { y: 3 }]);
      await assert.rejects(a.recv(), { name: "PipeClosedError", code: "E_PIPE_CLOSED" });
    } finally {
      await reap(writer);
    }

    const [c, d] = Pipe();
    const q = new Queue<{ got: unknown[]; error: string }>();
    const reader = start("drain", [d, q]);
    try {
      await c.send(1);
      await c.send(2);
      await c.close();
      assert.deepEqual(await q.get({ timeout: 20_000 }), { got: [1, 2], error: "PipeClosedError:E_PIPE_CLOSED" });
      await reader.join();
      await assert.rejects(c.recv(), { code: "E_PIPE_CLOSED" });
    } finally {
      await reap(reader);
    }
  });

  it("poll({ timeout }) in a child returns false when nothing came in time, true once a value is there", async () => {
    const [parent, child] = Pipe<string>();
    const q = new Queue<string>();
    const proc = start("pollTwice", [child, 50, q]);
    try {
      assert.equal(await q.get({ timeout: 20_000 }), "first:false");
      await parent.send("late");
      assert.equal(await q.get({ timeout: 20_000 }), "second:true");
      assert.equal(await q.get({ timeout: 20_000 }), "value:late");
      await proc.join();
    } finally {
      await reap(proc);
    }
  });

  it("recv({ signal }) in a child rejects with the signal's reason and takes nothing; poll({ timeout }) with nothing sent resolves false", async () => {
    const [parent, child] = Pipe<string>();
    const q = new Queue<string>();
    const proc = start("recvAborted", [child, 30, q]);
    try {
      assert.equal(await q.get({ timeout: 20_000 }), "TimeoutError");
      assert.equal(await q.get({ timeout: 20_000 }), "poll:false");
      await proc.join();
      assert.equal(await parent.poll({ timeout: 30 }), true, "the child's end closed when its process exited");
      await assert.rejects(parent.recv(), { code: "E_PIPE_CLOSED" });
    } finally {
      await reap(proc);
    }
    const [e] = Pipe();
    assert.equal(await e.poll({ timeout: 30 }), false);
  });

  it("an end one process took is refused to another with E_PIPE_CLOSED", async () => {
    const [, child] = Pipe();
    const q = new Queue<string>();
    const owner = start("takeEnd", [child, q]);
    try {
      assert.equal(await q.get({ timeout: 20_000 }), "taken");
      const intruder = start("recvForeign", [child, q]);
      assert.equal(await q.get({ timeout: 20_000 }), "PipeClosedError:E_PIPE_CLOSED");
      await intruder.join();
    } finally {
      await reap(owner);
    }
  });

  it("a child polls for the parent's replies while they come, and stops when they stop: a quiet wait costs it almost no CPU", async () => {
    // While values flow, a waiting recv() in the child keeps its event loop polling for a short window
    // (poll-window.ts) instead of sleeping; once the parent goes quiet the window ends and the child sleeps.
    const [parent, child] = Pipe();
    const proc = start("echoThenReportIdleCpu", [child]);
    try {
      for (let i = 0; i < 2000; i++) {
        await parent.send(i);
        assert.equal(await parent.recv(), i);
      }
      const quietMs = 400;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      await parent.send("report");
      const cpuMs = (await parent.recv()) as number;
      assert.ok(cpuMs < quietMs / 4, `the child spent ${cpuMs} ms of CPU in a ${quietMs} ms wait`);
      await proc.join();
      assert.equal(proc.exitCode, 0);
    } finally {
      await reap(proc);
    }
  });
});

describe("multiprocessing Pipe between two children", () => {
  it("carries round trips between two pool children, in order", async () => {
    const [a, b] = Pipe<number | null>();
    const pool = new ProcessPoolExecutor({ maxWorkers: 2 });
    try {
      const echo = pool.submit(task(tasksUrl, "echo"), b);
      const ping = pool.submit(task(pipeTasks, "pingDoubled"), a, 200);
      assert.deepEqual(await ping.result(), Array.from({ length: 200 }, (_, i) => 2 * (i + 1)));
      await echo.result();
    } finally {
      await pool.shutdown();
    }
  });

  it("the reader child sees E_PIPE_CLOSED after draining when the writer child is killed", async () => {
    const [a, b] = Pipe<number>();
    const q = new Queue<unknown>();
    const writer = start("spew", [a, q]);
    const reader = start("drain", [b, q]);
    try {
      assert.equal(await q.get({ timeout: 20_000 }), "sending");
      assert.ok(await until(() => alive(reader.pid!)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      writer.kill();
      const { got, error } = (await q.get({ timeout: 20_000 })) as { got: number[]; error: string };
      assert.equal(error, "PipeClosedError:E_PIPE_CLOSED");
      assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i), "every value, in order, none lost");
      await reader.join();
    } finally {
      await reap(writer, reader);
    }
  });
});
