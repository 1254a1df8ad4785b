import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { OrderedPool } from "../../src/cli/ordered-pool.js";

describe("OrderedPool (put -r and get -r run several transfers at once)", () => {
  test("runs up to its limit at once and prints in submission order whatever the finishing order", async () => {
    const pool = new OrderedPool(3);
    const printed: number[] = [];
    let running = 0;
    let most = 0;
    for (let i = 0; i < 12; i += 1) {
      await pool.submit(async () => {
        running += 1;
        most = Math.max(most, running);
        await sleep((12 - i) * 3); // later tasks finish first
        running -= 1;
        return () => printed.push(i);
      });
    }
    await pool.drain();
    assert.equal(most, 3);
    assert.deepEqual(printed, Array.from({ length: 12 }, (_, i) => i));
  });

  test("weights: a heavy task waits until its weight fits beside the running ones, and a weight over the limit runs alone", async () => {
    const pool = new OrderedPool(8);
    const printed: string[] = [];
    let load = 0;
    let most = 0;
    const weights = [1, 1, 1, 4, 4, 1, 20, 1, 1];
    for (const [i, weight] of weights.entries()) {
      const taken = Math.min(weight, 8);
      await pool.submit(async () => {
        load += taken;
        most = Math.max(most, load);
        if (taken === 8) assert.equal(load, 8, "a task of the whole limit runs alone");
        await sleep(5 + (i % 3) * 4);
        load -= taken;
        return () => printed.push(`${i}`);
      }, weight);
      assert.ok(load <= 8, `load ${load} after submitting task ${i}`);
    }
    await pool.drain();
    assert.equal(most, 8);
    assert.deepEqual(printed, weights.map((_, i) => `${i}`));
  });

  test("after a failure: no new task starts, those before it print, drain() rethrows it", async () => {
    const pool = new OrderedPool(2);
    const printed: number[] = [];
    const started: number[] = [];
    const boom = new Error("task 2 failed");
    let rejected: unknown = null;
    try {
      for (let i = 0; i < 10; i += 1) {
        await pool.submit(async () => {
          started.push(i);
          await sleep(i === 2 ? 5 : 20);
          if (i === 2) throw boom;
          return () => printed.push(i);
        });
      }
    } catch (err) {
      rejected = err;
    }
    await assert.rejects(pool.drain(), boom);
    assert.equal(rejected, boom);
    assert.deepEqual(printed, [0, 1]);
    assert.ok(started.length < 10, `started ${started.join(",")}`);
  });
});
