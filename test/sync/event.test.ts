import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Event } from "../../src/sync/index.js";
import { settle, track } from "./helpers.js";

describe("Event", () => {
  it("Event.wait() resolves true for every waiter once set()", async () => {
    const event = new Event();
    assert.equal(event.isSet(), false);
    const waiters = [event.wait(), event.wait(), event.wait()].map(track);
    await settle();
    assert.ok(waiters.every((w) => !w.settled()));
    event.set();
    await settle();
    assert.deepEqual(waiters.map((w) => w.value()), [true, true, true]);
    assert.equal(event.isSet(), true);
    assert.equal(await event.wait(), true, "resolves at once while set");
  });

  it("Event.clear() makes later wait() calls wait again", async () => {
    const event = new Event();
    event.set();
    event.clear();
    assert.equal(event.isSet(), false);
    assert.equal(await event.wait({ timeout: 10 }), false);
  });

  it("Event.wait({ timeout }) resolves false; an aborted wait rejects with the reason", async () => {
    const event = new Event();
    assert.equal(await event.wait({ timeout: 0 }), false);
    assert.equal(await event.wait({ timeout: 15 }), false);
    const controller = new AbortController();
    const pending = event.wait({ signal: controller.signal });
    controller.abort("enough");
    await assert.rejects(pending, (err) => err === "enough");
    assert.equal(event.waiting, 0);
    await assert.rejects(event.wait({ signal: AbortSignal.abort("pre") }), (err) => err === "pre");
    await assert.rejects(event.wait({ timeout: "5" as never }), /options\.timeout/);
  });
});
