import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { connect, udpRequest } from "../../src/client/index.js";
import { WharfError as ErrorsWharfError } from "../../src/errors/index.js";
import * as pool from "../../src/pool/index.js";
import * as sync from "../../src/sync/index.js";
import { ProtocolError, WharfError } from "../../src/wire/index.js";
import { startServer } from "../helpers/server.js";

const syncErrors = [
  new sync.NotHeldError("x"),
  new sync.NotOwnerError("x"),
  new sync.TooManyReleasesError("x"),
  new sync.TooManyTaskDoneError(),
  new sync.QueueFull(),
  new sync.QueueEmpty(),
  new sync.QueueShutDown(),
  new sync.BrokenBarrierError(),
  new sync.WaitTimeoutError("x"),
  new sync.ItemTooLargeError("x"),
];
const poolErrors = [
  new pool.TimeoutError("x"),
  new pool.CancelledError(),
  new pool.WorkerDiedError("x", { exitCode: 3 }),
  new pool.ShutdownError(),
  new pool.TaskNotFoundError("x"),
  new pool.ProcessStateError("x"),
];

describe("one error family", () => {
  test("every sync, pool and wire error is a WharfError, keeps its own base, class name and code", () => {
    assert.equal(ErrorsWharfError, WharfError, "wharf/wire re-exports the one class");
    for (const err of syncErrors) {
      assert.ok(err instanceof WharfError && err instanceof sync.WharfSyncError, err.name);
      assert.equal(err.name, err.constructor.name);
      assert.equal(err.toWire().code, err.code);
    }
    for (const err of poolErrors) {
      assert.ok(err instanceof WharfError && err instanceof pool.WharfPoolError, err.name);
      assert.equal(err.name, err.constructor.name);
    }
    assert.equal(new sync.QueueEmpty().code, "E_QUEUE_EMPTY");
    assert.equal(new pool.WorkerDiedError("x", { exitCode: 3 }).exitCode, 3);
    const protocol = new ProtocolError("E_BAD_HEADER", "bad", 7);
    assert.ok(protocol instanceof WharfError);
    assert.deepEqual([protocol.name, protocol.id], ["ProtocolError", 7]);
    assert.equal(new WharfError("E_X", "m").name, "WharfError");
    assert.equal(new sync.WharfSyncError("E_QUEUE_FULL", "m").name, "WharfSyncError");
  });

  test("a real timed-out wait of sync and of pool is a WharfError with E_TIMEOUT or E_QUEUE_EMPTY", async () => {
    await assert.rejects(new pool.Future().result({ timeout: 5 }), (err: unknown) => err instanceof WharfError && err.code === "E_TIMEOUT" && err.name === "TimeoutError");
    await assert.rejects(new sync.Queue().get({ timeout: 5 }), (err: unknown) => err instanceof WharfError && err.code === "E_QUEUE_EMPTY");
  });

  test("a handler that throws a sync or pool error replies with its code over TCP and UDP, not E_INTERNAL", async (t) => {
    const { url, udpUrl } = await startServer(t, {}, (server) => {
      server.handle("queue.take", () => ({ header: { item: new sync.Queue().getNowait() } }));
      server.handle("future.wait", async () => ({ header: { value: await new pool.Future().result({ timeout: 5 }) } }));
      server.handle("plain.fail", () => {
        throw new Error("not a WharfError");
      });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const codeOf = (promise: Promise<unknown>) => promise.then(() => "resolved", (err: WharfError) => `${err.code}: ${err.message}`);
    for (const ask of [(type: string) => conn.request(type), (type: string) => udpRequest(udpUrl, type)]) {
      assert.equal(await codeOf(ask("queue.take")), "E_QUEUE_EMPTY: queue is empty");
      assert.match(await codeOf(ask("future.wait")), /^E_TIMEOUT: /);
      assert.match(await codeOf(ask("plain.fail")), /^E_INTERNAL: /, "other errors stay hidden");
    }
  });
});

describe("WharfError.fromWire()", () => {
  test("keeps code, message and data; a missing code is E_PROTOCOL, a missing message the fallback", () => {
    const full = WharfError.fromWire({ code: "E_BUSY", message: "try later", data: { n: 1 } }, "failed");
    assert.deepEqual([full.code, full.message, full.data, full.name], ["E_BUSY", "try later", { n: 1 }, "WharfError"]);
    const empty = WharfError.fromWire(undefined, "the request failed");
    assert.deepEqual([empty.code, empty.message, empty.data], ["E_PROTOCOL", "the request failed", undefined]);
    const odd = WharfError.fromWire({ code: 42, message: ["x"] }, "fallback");
    assert.deepEqual([odd.code, odd.message], ["E_PROTOCOL", "fallback"]);
    assert.equal(WharfError.fromWire("E_BUSY", "fallback").code, "E_PROTOCOL");
  });

  test("is the inverse of toWire() for any code, message and JSON data, and never throws on any JSON", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.option(fc.jsonValue(), { nil: undefined }), (code, message, data) => {
        const sent = new WharfError(code, message, { data });
        const wire = JSON.parse(JSON.stringify(sent.toWire())) as unknown;
        // Compared with what JSON carries: -0 travels as 0, so the sent object itself is not the reference.
        assert.deepEqual(WharfError.fromWire(wire, "fallback").toWire(), wire);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const err = WharfError.fromWire(value, "fallback");
        assert.ok(err instanceof WharfError && typeof err.code === "string" && typeof err.message === "string");
      }),
    );
  });
});
