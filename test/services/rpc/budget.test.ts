import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test, type TestContext } from "node:test";
import fc from "fast-check";
import { connect, udpRequest, type Connection } from "../../../src/client/index.js";
import { RpcClient, type RpcContext, type RpcRegistry } from "../../../src/services/rpc/index.js";
import { startServe, type ServeProcess } from "../../helpers/cli.js";
import { failureOf, rpcServer } from "./helpers.js";

interface Answer {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string; data?: unknown } };
}

/** Sends a JSON-RPC body and resolves the reply body as text ("" for none). */
async function jsonrpcText(conn: Connection, payload: unknown, fields: Record<string, unknown> = {}): Promise<string> {
  const reply = await conn.request("jsonrpc", fields, Buffer.from(JSON.stringify(payload)), { timeout: 120_000 });
  return reply.body.toString();
}

/** A `wharf serve` child with the demo methods (`--rpc-demo` where this tree has it; before, they were default). */
async function serveWithDemo(t: TestContext): Promise<ServeProcess> {
  try {
    return await startServe(t, ["--rpc-demo", "--no-udp"]);
  } catch (err) {
    if (!/unknown option '--rpc-demo'/.test(String(err))) throw err;
    return await startServe(t, ["--no-udp"]);
  }
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

function call(method: string, params: unknown, id?: unknown): Record<string, unknown> {
  return id === undefined ? { jsonrpc: "2.0", method, params } : { jsonrpc: "2.0", method, params, id };
}

describe("JSON-RPC reply budget (issue 11, case 4)", () => {
  test("300 demo.count [10000, 0] calls in one batch get a bounded answer; the server's RSS stays small; others are served meanwhile", async (t) => {
    const serve = await serveWithDemo(t);
    const pid = serve.child.pid as number;
    const url = serve.url("tcp");
    const [attacker, neighbour] = await Promise.all([connect(url), connect(url)]);
    t.after(() => {
      attacker.destroy();
      neighbour.destroy();
    });
    const list = (await new RpcClient(neighbour).call("rpc.list")) as { name: string }[];
    assert.ok(list.some((method) => method.name === "demo.count"), "the server offers demo.count");
    const before = rssOf(pid);
    const batch = Array.from({ length: 300 }, (_, i) => call("demo.count", [10_000, 0], i));
    assert.ok(JSON.stringify(batch).length < 21_000, "a 20 KB request");

    let done = false;
    let worstPing = 0;
    let pings = 0;
    const pinger = (async () => {
      while (!done) {
        const started = performance.now();
        await neighbour.request("ping", {}, Buffer.from("hi"), { timeout: 5_000 });
        worstPing = Math.max(worstPing, performance.now() - started);
        pings += 1;
        await sleep(20);
      }
    })();
    const text = await jsonrpcText(attacker, batch);
    done = true;
    await pinger;
    const grown = rssOf(pid) - before;

    assert.ok(Buffer.byteLength(text) <= 4 * 1024 * 1024, `the reply is ${Buffer.byteLength(text)} bytes, over the 4 MiB budget`);
    const answers = JSON.parse(text) as Answer[];
    assert.deepEqual(answers.map((answer) => answer.id), batch.map((c) => c.id), "every call answered, in request order");
    const full = Array.from({ length: 10_000 }, (_, i) => i);
    const complete = answers.filter((answer) => answer.result !== undefined);
    const refused = answers.filter((answer) => answer.error !== undefined);
    assert.ok(complete.length >= 10 && complete.length < 300, `${complete.length} calls completed`);
    for (const answer of complete) assert.deepEqual(answer.result, full, "a completed call has its whole result");
    for (const answer of refused) {
      assert.equal(answer.error?.code, -32000);
      assert.equal(answer.error?.data?.code, "E_RPC_BUDGET");
      assert.deepEqual(answer.error?.data?.data, { budget: 4 * 1024 * 1024 });
    }
    assert.equal(complete.length + refused.length, 300);
    assert.ok(grown < 200 * 1024 * 1024, `the server's RSS grew by ${Math.round(grown / 1e6)} MB (it was 1.09 GB before the budget)`);
    assert.ok(pings >= 1 && worstPing < 1_000, `the neighbour's slowest ping took ${Math.round(worstPing)} ms (${pings} pings)`);
    assert.equal((await neighbour.request("ping", {}, Buffer.from("ok"))).body.toString(), "ok", "the server is well");
  });

  test("however calls, streams, notifications, errors and ids mix, the reply fits the budget and answers every call in order", async (t) => {
    const budget = 4096;
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("blob", ([n]: [number]) => "b".repeat(n));
      rpc.method("items", async function* ([n, size]: [number, number]) {
        for (let i = 0; i < n; i += 1) yield "i".repeat(size);
      });
      rpc.method("fail", () => {
        throw new Error("a bug");
      });
    }, { replyBudget: budget });
    const id = fc.oneof(fc.integer(), fc.string({ maxLength: 30 }), fc.constant(null));
    const entry = fc.oneof(
      fc.tuple(fc.nat({ max: 3_000 }), id).map(([n, i]) => call("blob", [n], i)),
      fc.tuple(fc.nat({ max: 50 }), fc.nat({ max: 300 }), id).map(([n, size, i]) => call("items", [n, size], i)),
      fc.tuple(fc.nat({ max: 50 }), fc.nat({ max: 300 })).map(([n, size]) => call("items", [n, size])), // a notification
      id.map((i) => call("fail", [], i)),
      id.map((i) => call("nope", [], i)),
      fc.constant(42), // not a call: Invalid Request, id null
    );
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 30 }), async (batch) => {
        const text = await jsonrpcText(conn, batch);
        assert.ok(Buffer.byteLength(text) <= budget, `${Buffer.byteLength(text)} bytes`);
        const expected = batch.filter((c) => typeof c !== "object" || Object.hasOwn(c, "id")).map((c) => (typeof c === "object" ? c.id : null));
        if (expected.length === 0) return assert.equal(text, "");
        const answers = JSON.parse(text) as Answer[] | Answer;
        if (!Array.isArray(answers)) {
          // the whole batch refused: not even an error per call would fit
          assert.equal(answers.error?.data?.code, "E_RPC_BUDGET");
          assert.ok(expected.length * 180 > budget, "refused as a whole only when the errors alone would not fit");
          return;
        }
        assert.deepEqual(answers.map((a) => a.id), expected);
        for (const [index, answer] of answers.entries()) {
          const request = batch.filter((c) => typeof c !== "object" || Object.hasOwn(c, "id"))[index];
          if (answer.error?.data?.code === "E_RPC_BUDGET") continue;
          if (typeof request !== "object") assert.equal(answer.error?.code, -32600);
          else if (request.method === "blob") assert.equal(answer.result, "b".repeat((request.params as number[])[0]));
          else if (request.method === "items") {
            const [n, size] = request.params as number[];
            assert.deepEqual(answer.result, Array.from({ length: n }, () => "i".repeat(size)));
          } else if (request.method === "fail") assert.equal(answer.error?.code, -32603);
          else assert.equal(answer.error?.code, -32601);
        }
      }),
      { numRuns: 150 },
    );
  });

  test("when the budget is spent, running streams are stopped (their finally runs) and later calls are not run", async (t) => {
    let started = 0;
    let stopped = 0;
    let ran = 0;
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("forever", async function* (_p: unknown, ctx: RpcContext) {
        started += 1;
        try {
          for (;;) {
            yield "x".repeat(100);
            await sleep(1, undefined, { signal: ctx.signal });
          }
        } finally {
          stopped += 1;
        }
      });
      rpc.method("count.me", () => (ran += 1));
    }, { replyBudget: 64 * 1024 });
    // 16 endless streams fill every lane (BATCH_CONCURRENCY), so the quick calls after them wait their turn.
    const batch = [...Array.from({ length: 16 }, (_, i) => call("forever", [], i)), ...Array.from({ length: 40 }, (_, i) => call("count.me", [], 100 + i))];
    const text = await jsonrpcText(conn, batch);
    assert.ok(text.length <= 64 * 1024);
    const answers = JSON.parse(text) as Answer[];
    assert.equal(answers.length, 56);
    assert.ok(answers.every((a) => a.error?.data?.code === "E_RPC_BUDGET"), "the endless streams were cut, the calls after them refused");
    assert.deepEqual([started, stopped], [16, 16], "every stream's generator was closed");
    assert.equal(ran, 0, "the calls after the budget was spent did not run");
  });

  test("a notification's stream counts as work: it is stopped at the budget though nothing is sent", async (t) => {
    let yielded = 0;
    let finished = 0;
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("chatter", async function* ([n]: [number]) {
        try {
          for (let i = 0; i < n; i += 1) {
            yielded += 1;
            yield "n".repeat(1_000);
          }
        } finally {
          finished += 1;
        }
      });
    }, { replyBudget: 200_000 });
    assert.equal(await jsonrpcText(conn, call("chatter", [9_000])), "", "a notification gets no reply");
    assert.equal(finished, 1);
    assert.ok(yielded < 220, `${yielded} items were made for a 200 kB budget, not 9,000`);
    // Small notifications add up: 200 of 5 items each would be 1 MB of work for a 200 kB budget (of which 16
    // running at once take 80 kB: each alone stays well within it).
    yielded = 0;
    assert.equal(await jsonrpcText(conn, Array.from({ length: 200 }, () => call("chatter", [5]))), "", "a batch of notifications gets no reply");
    assert.ok(yielded < 260, `${yielded} items were made by 200 notifications for a 200 kB budget, not 1,000`);
  });

  test("over UDP the reply is held to one datagram", async (t) => {
    const { udpUrl } = await rpcServer(t, (rpc) => {
      rpc.method("items", async function* ([n, size]: [number, number]) {
        for (let i = 0; i < n; i += 1) yield "i".repeat(size);
      });
    });
    // The request is padded to a third of a datagram, so that no rule against amplification is what answers.
    const batch = [call("items", [40, 1_000, "p".repeat(22_000)], 1), call("items", [40, 1_000], 2), call("items", [2, 10], 3)];
    const reply = await udpRequest(udpUrl, "jsonrpc", {}, Buffer.from(JSON.stringify(batch)), { timeout: 5_000 });
    assert.ok(reply.body.length <= 65_507 - 1024, `${reply.body.length} bytes`);
    const answers = JSON.parse(reply.body.toString()) as Answer[];
    assert.deepEqual(answers.map((a) => a.id), [1, 2, 3]);
    assert.ok(answers.some((a) => a.error?.data?.code === "E_RPC_BUDGET"), "80 kB of items do not fit one datagram");
  });

  test("a budget too small for an error per call refuses the batch as a whole", async (t) => {
    const { conn } = await rpcServer(t, (rpc) => rpc.method("one", () => 1), { replyBudget: 1024 });
    const answer = JSON.parse(await jsonrpcText(conn, Array.from({ length: 20 }, (_, i) => call("one", [], i)))) as Answer;
    assert.equal(answer.id, null);
    assert.equal(answer.error?.code, -32000);
    assert.equal(answer.error?.data?.code, "E_RPC_BUDGET");
    assert.match(answer.error?.message ?? "", /cannot hold an answer to each of 20 calls/);
    const few = JSON.parse(await jsonrpcText(conn, Array.from({ length: 3 }, (_, i) => call("one", [], i)))) as Answer[];
    assert.deepEqual(few.map((a) => a.result), [1, 1, 1]);
  });
});

describe("rpc.call with huge results (issue 11, case 4)", () => {
  test("a result too large for a reply header gets E_RPC_BUDGET; as a Buffer it travels in the body", async (t) => {
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("big.text", ([n]: [number]) => "t".repeat(n));
      rpc.method("big.list", ([n]: [number]) => Array.from({ length: n }, (_, i) => i));
      rpc.method("big.bytes", ([n]: [number]) => Buffer.alloc(n, 7));
      rpc.method("big.items", async function* ([n]: [number]) {
        yield "small";
        yield "s".repeat(n);
      });
    });
    const rpc = new RpcClient(conn);
    for (const method of ["big.text", "big.list"]) {
      const err = await failureOf(rpc.call(method, [100_000]));
      assert.equal(err.code, "E_RPC_BUDGET", `${method}: ${err.message}`);
      assert.match(err.message, /more than a reply header holds \(65536\): return binary data/);
    }
    const items: unknown[] = [];
    const streamErr = await failureOf(
      (async () => {
        for await (const item of rpc.stream("big.items", [100_000])) items.push(item);
      })(),
    );
    assert.equal(streamErr.code, "E_RPC_BUDGET");
    assert.deepEqual(items, ["small"], "the items before the huge one arrived");
    assert.equal(((await rpc.call("big.bytes", [1_000_000])) as Buffer).length, 1_000_000);
    assert.equal(await rpc.call("big.text", [1_000]), "t".repeat(1_000), "the connection is fine");
  });
});
