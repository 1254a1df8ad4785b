import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TimeSlice } from "../../../src/services/rpc/index.js";

/**
 * Microtask-only work for `ms` milliseconds, asking `slice` between steps when one is given, and going on until
 * `slice` has given at least `turns` turns: a process descheduled for the whole window (a loaded CI machine) would
 * otherwise end its work before it ever asked, and no timer could run.
 */
async function busy(ms: number, slice: TimeSlice | null, turns = 0): Promise<void> {
  const end = performance.now() + ms;
  let given = 0;
  // (Not past 5 s more: a TimeSlice that never gave a turn would otherwise spin here for good, starving every timer.)
  for (let now = performance.now(); now < end || (given < turns && now < end + 5_000); now = performance.now()) {
    const turn = slice?.due();
    if (turn !== undefined) {
      await turn;
      given += 1;
    } else await null; // a step of an async generator that never waits: a microtask, never a turn of the loop
  }
}

/** Runs `work` while a 1 ms interval measures the longest stretch the event loop was held. */
async function longestHold(work: () => Promise<unknown>): Promise<{ hold: number; ticks: number }> {
  let last = performance.now();
  let hold = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    hold = Math.max(hold, now - last);
    last = now;
    ticks += 1;
  }, 1);
  try {
    last = performance.now();
    await work();
    hold = Math.max(hold, performance.now() - last);
    return { hold, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe("TimeSlice", () => {
  test("microtask-only work holds the event loop until it is done, unless it asks due()", async () => {
    const without = await longestHold(() => Promise.all([busy(150, null), busy(150, null)]));
    assert.equal(without.ticks, 0, "no timer ran during 300 ms of microtasks");
    assert.ok(without.hold >= 140);
    const slice = new TimeSlice(5);
    const withSlice = await longestHold(() => Promise.all([busy(150, slice, 3), busy(150, slice, 3), busy(150, slice, 3)]));
    // Timers ran between the slices (none ran without them). No bound on the longest hold in ms: on a loaded
    // machine the process itself may be descheduled for any time, and speed belongs to benchmarks, not tests.
    assert.ok(withSlice.ticks >= 2, `${withSlice.ticks} timer runs`);
  });

  test("once the slice is used up, every caller waits for the same turn, and a new slice begins after it", async () => {
    const slice = new TimeSlice(40);
    const end = performance.now() + 45;
    while (performance.now() < end); // use the slice up
    const first = slice.due();
    assert.ok(first !== undefined);
    assert.equal(slice.due(), first, "a second caller gets the same turn, not a slice of its own");
    await first;
    assert.equal(slice.due(), undefined, "a fresh slice");
  });

  test("due() costs nothing while the slice has time left, and refuses a bad length", () => {
    const slice = new TimeSlice(1_000);
    assert.equal(slice.due(), undefined);
    assert.throws(() => new TimeSlice(0), RangeError);
  });
});
