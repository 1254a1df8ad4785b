import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Local } from "../../src/sync/index.js";
import { task, ThreadPoolExecutor } from "../../src/pool/index.js";

describe("Local", () => {
  it("gives each Local.run() context its own values, kept across awaits", async () => {
    const local = new Local<{ name?: string }>();
    const seen = await Promise.all(
      ["a", "b", "c", "d"].map((name, i) =>
        Local.run(async () => {
          local.value.name = name;
          await sleep(20 - i * 5); // interleave: later starters finish first
          return local.value.name;
        }),
      ),
    );
    assert.deepEqual(seen, ["a", "b", "c", "d"]);
  });

  it("async functions started side by side without run() share their thread's values", async () => {
    const local = new Local<{ n?: number }>();
    await Promise.all([1, 2].map(async (n) => {
      await sleep(n);
      local.value.n = n;
    }));
    assert.equal(local.value.n, 2);
    local.clear();
    assert.equal(local.value.n, undefined);
  });

  it("work started inside a context (timers, nested promises) sees that context's values", async () => {
    const local = new Local(() => ({ hits: 0 }));
    const inner = await Local.run(async () => {
      local.value.hits += 1;
      await new Promise<void>((resolve) => setTimeout(() => { local.value.hits += 1; resolve(); }, 5));
      return Local.run(() => local.value.hits); // a nested run starts over
    });
    assert.equal(inner, 0);
    assert.equal(local.value.hits, 0, "the root values were never touched");
  });

  it("each worker thread has its own values", async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const local = new Local<{ visits?: number }>();
    local.value.visits = 100;
    try {
      const visit = task(new URL("./fixtures/local-task.js", import.meta.url), "visit");
      const results = (await Promise.all(Array.from({ length: 8 }, () => pool.submit(visit).result()))) as { visits: number; thread: number }[];
      const byThread = new Map<number, number>();
      for (const r of results) byThread.set(r.thread, Math.max(byThread.get(r.thread) ?? 0, r.visits));
      // Every visit counted once, in the root values of the thread that made it (a root reset per access, or
      // values shared between threads, would not add up to 8).
      assert.equal([...byThread.values()].reduce((a, b) => a + b, 0), 8);
      assert.ok([...byThread.keys()].every((id) => id !== 0));
      assert.equal(local.value.visits, 100);
    } finally {
      await pool.shutdown();
    }
  });

  it("rejects a bad init or fn with TypeError", () => {
    assert.throws(() => new Local(42 as never), TypeError);
    assert.throws(() => Local.run(null as never), TypeError);
  });
});
