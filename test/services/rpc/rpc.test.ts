import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { z } from "zod";
import { connect, WharfError } from "../../../src/client/index.js";
import { ThreadPoolExecutor, task } from "../../../src/pool/index.js";
import { AccountStore, login, registerAuth } from "../../../src/services/accounts/index.js";
import { RpcClient, rpcClient, type RpcContext } from "../../../src/services/rpc/index.js";
import { tempDir } from "../../helpers/cli.js";
import { failureOf, rpcServer, until } from "./helpers.js";

interface TestApi {
  math: { add(a: number, b: number): number; div(a: number, b: number): number };
  echo(value: unknown): unknown;
  count(n: number): AsyncIterable<number>;
  slow(ms: number): string;
  boom(): never;
}

function setupTestApi(rpc: import("../../../src/services/rpc/index.js").RpcRegistry): void {
  rpc.method("math.add", ([a, b]: [number, number]) => a + b, { params: z.tuple([z.number(), z.number()]) });
  rpc.method("math.div", ([a, b]: [number, number]) => {
    if (b === 0) throw new WharfError("E_DIVIDE_BY_ZERO", "cannot divide by zero", { data: { dividend: a } });
    return a / b;
  });
  rpc.method("echo", ([value]: [unknown]) => value);
  rpc.method("count", async function* ([n]: [number]) {
    for (let i = 0; i < n; i += 1) yield i;
  });
  rpc.method("slow", async ([ms]: [number], ctx: RpcContext) => {
    await sleep(ms, undefined, { signal: ctx.signal });
    return "done";
  });
  rpc.method("boom", () => {
    throw new Error("a bug in the handler");
  });
}

describe("wharf/rpc calls", () => {
  test("unary calls through the typed proxy, nested names and binary values", async (t) => {
    const { conn } = await rpcServer(t, setupTestApi);
    const api = rpcClient<TestApi>(conn);
    assert.equal(await api.math.add(1, 2), 3);
    assert.equal(await api.math.div(6, 4), 1.5);
    const value = { name: "a.bin", data: Buffer.from([0, 1, 2, 255]), nested: [Buffer.alloc(0), "text", null, { deep: Buffer.from("x") }] };
    assert.deepEqual(await api.echo(value), value);
    const echoed = (await api.echo(Buffer.from("raw"))) as Buffer;
    assert.ok(Buffer.isBuffer(echoed));
    assert.equal(echoed.toString(), "raw");
    assert.equal(await api.echo(null), null);
    assert.equal(await (api.echo as unknown as () => PromiseLike<unknown>)(), undefined, "no value comes back as undefined");
    assert.deepEqual(await api.echo([1, "two", { three: 3 }]), [1, "two", { three: 3 }]);
  });

  test("buffers travel as binary frame bodies, not base64", async (t) => {
    const { conn } = await rpcServer(t, setupTestApi);
    const data = Buffer.alloc(4096, 7);
    const reply = await conn.request("rpc.call", { method: "echo", params: [{ $bin: 0 }], parts: [4096] }, data);
    assert.deepEqual(reply.header.result, { $bin: 0 });
    assert.deepEqual(reply.header.parts, [4096]);
    assert.ok(reply.body.equals(data));
    assert.ok(JSON.stringify(reply.header).length < 100, "the header carries no encoded bytes");
  });

  test("a stream is read with for await, and a streaming method awaited gives all its items", async (t) => {
    const { conn } = await rpcServer(t, setupTestApi);
    const api = rpcClient<TestApi>(conn);
    const seen: number[] = [];
    for await (const n of api.count(5)) seen.push(n);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.deepEqual(await api.count(3), [0, 1, 2]);
    const single: number[] = [];
    for await (const n of api.math.add(2, 2)) single.push(n as number);
    assert.deepEqual(single, [4], "iterating a plain method yields its result");
  });

  test("server-streaming items arrive as they are produced, before the stream ends", async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("ticks", async function* () {
        yield "first";
        await gate;
        yield "second";
      });
    });
    const iterator = new RpcClient(conn).stream<string>("ticks")[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: "first", done: false });
    release();
    assert.deepEqual(await iterator.next(), { value: "second", done: false });
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  test("leaving a stream early cancels it on the server and stops the generator", async (t) => {
    let finished = false;
    let produced = 0;
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("endless", async function* () {
        try {
          for (;;) {
            produced += 1;
            yield produced;
            await sleep(1);
          }
        } finally {
          finished = true;
        }
      });
    });
    for await (const n of rpcClient<{ endless(): AsyncIterable<number> }>(conn).endless()) {
      if (n === 3) break;
    }
    await until(() => finished);
    const after = produced;
    await sleep(50);
    assert.equal(produced, after);
    const again: number[] = [];
    for await (const n of rpcClient<{ endless(): AsyncIterable<number> }>(conn).endless()) if (again.push(n) === 2) break;
    assert.equal(again.length, 2, "the connection carries on");
  });

  test("bad params get E_INVALID_PARAMS with zod's message, and the issues as data", async (t) => {
    const { conn } = await rpcServer(t, setupTestApi);
    const api = rpcClient<TestApi>(conn);
    const err = await failureOf((api.math.add as unknown as (a: unknown, b: unknown) => PromiseLike<number>)("one", 2));
    assert.equal(err.code, "E_INVALID_PARAMS");
    assert.match(err.message, /^math\.add: 0: Invalid input: expected number, received string$/);
    assert.deepEqual(err.data, { issues: [{ path: ["0"], message: "Invalid input: expected number, received string" }] });
    const tooFew = await failureOf((api.math.add as unknown as (a: number) => PromiseLike<number>)(1));
    assert.equal(tooFew.code, "E_INVALID_PARAMS");
  });

  test("errors keep code, message and data; a throwing handler harms nothing; unknown methods get E_NO_METHOD", async (t) => {
    const { conn } = await rpcServer(t, setupTestApi);
    const api = rpcClient<TestApi>(conn);
    const div = await failureOf(api.math.div(1, 0));
    assert.equal(div.code, "E_DIVIDE_BY_ZERO");
    assert.equal(div.message, "cannot divide by zero");
    assert.deepEqual(div.data, { dividend: 1 });
    const boom = await failureOf(api.boom());
    assert.equal(boom.code, "E_INTERNAL");
    assert.doesNotMatch(boom.message, /a bug in the handler/, "internals stay in the server log");
    const missing = await failureOf((api as unknown as { no: { such(): PromiseLike<unknown> } }).no.such());
    assert.equal(missing.code, "E_NO_METHOD");
    assert.equal(missing.message, 'no method "no.such"');
    assert.equal(await api.math.add(2, 3), 5, "the same connection still works");
  });

  test("a thousand concurrent calls on one connection all get their own answers", async (t) => {
    const { conn } = await rpcServer(t, (rpc) => {
      setupTestApi(rpc);
      rpc.method("later", async ([n]: [number]) => {
        await sleep(n % 7);
        return n * 2;
      });
    });
    const api = rpcClient<{ later(n: number): number; echo(v: unknown): unknown }>(conn);
    const numbers = Array.from({ length: 1000 }, (_, i) => i);
    const results = await Promise.all(numbers.map((n) => (n % 2 === 0 ? api.later(n) : api.echo(Buffer.from(String(n))))));
    results.forEach((result, n) => {
      if (n % 2 === 0) assert.equal(result, n * 2);
      else assert.equal((result as Buffer).toString(), String(n));
    });
  });

  test("a deadline reaches the handler's signal and the client gets E_DEADLINE", async (t) => {
    let seen: unknown = null;
    let deadline: number | null = null;
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("wait", async (_params: unknown, ctx: RpcContext) => {
        deadline = ctx.deadline;
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        seen = ctx.signal.reason;
        return "too late";
      });
    });
    const before = Date.now();
    const err = await failureOf(rpcClient<{ wait(): string }>(conn).wait().with({ timeout: 150 }));
    assert.equal(err.code, "E_DEADLINE");
    await until(() => seen !== null);
    // The server's own deadline fires first (the client waits DEADLINE_GRACE_MS longer before it cancels), unless
    // the machine is so loaded that the request reached the handler that much late.
    assert.ok(seen instanceof WharfError && (seen.code === "E_DEADLINE" || seen.code === "E_CANCELLED"), String(seen));
    assert.ok(deadline !== null && deadline >= before + 150 && deadline < before + 60_000, "the handler knew its deadline");
  });

  test("aborting a call reaches the handler's signal and the client gets E_CANCELLED", async (t) => {
    let seen: unknown = null;
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("wait", async (_params: unknown, ctx: RpcContext) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        seen = ctx.signal.reason;
      });
    });
    const abort = new AbortController();
    const call = rpcClient<{ wait(): void }>(conn).wait().with({ signal: abort.signal });
    const failed = failureOf(call);
    await sleep(50);
    abort.abort();
    assert.equal((await failed).code, "E_CANCELLED");
    await until(() => seen !== null);
    assert.ok(seen instanceof WharfError && seen.code === "E_CANCELLED", String(seen));
  });

  test("a connection that goes away aborts its calls' handlers", async (t) => {
    let seen: unknown = null;
    const { url } = await rpcServer(t, (rpc) => {
      rpc.method("wait", async (_params: unknown, ctx: RpcContext) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        seen = ctx.signal.reason;
      });
    });
    const conn = await connect(url);
    void new RpcClient(conn).call("wait").catch(() => {});
    await sleep(50);
    conn.destroy();
    await until(() => seen !== null);
    assert.equal((seen as WharfError).code, "E_CONNECTION_CLOSED");
  });

  test("methods may require a login; the context names the user", async (t) => {
    const dataDir = tempDir(t);
    const accounts = new AccountStore(dataDir);
    await accounts.add("alice", "pw");
    const { conn } = await rpcServer(t, (rpc, server) => {
      registerAuth(server, accounts);
      rpc.method("whoami", (_p: unknown, ctx: RpcContext) => ctx.user?.name ?? null, { auth: true });
      rpc.method("peer", (_p: unknown, ctx: RpcContext) => ({ user: ctx.user?.name ?? null, transport: ctx.peer.transport }));
    });
    const api = rpcClient<{ whoami(): string; peer(): { user: string | null; transport: string } }>(conn);
    assert.equal((await failureOf(api.whoami())).code, "E_AUTH");
    assert.deepEqual(await api.peer(), { user: null, transport: "tcp" });
    await login(conn, "alice", "pw");
    assert.equal(await api.whoami(), "alice");
  });

  test("a task handler runs on a ThreadPoolExecutor, off the event loop", async (t) => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    t.after(() => pool.shutdown());
    const fixtures = new URL("./fixtures/tasks.js", import.meta.url);
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("fib", task(fixtures, "fib"), { executor: pool, params: z.tuple([z.number().int().max(35)]) });
      rpc.method("refuse", task(fixtures, "refuse"), { executor: pool });
      rpc.method("sum", task(fixtures, "sum"), { executor: pool });
      rpc.method("empty", task(fixtures, "empty"), { executor: pool });
    });
    const api = rpcClient<{ fib(n: number): { value: number; threadId: number }; refuse(why: string): never; sum(b: Buffer): number; empty(): never }>(conn);
    const { value, threadId } = await api.fib(25);
    assert.equal(value, 75025);
    assert.notEqual(threadId, 0, "ran on a worker thread");
    assert.equal(await api.sum(Buffer.from([1, 2, 3, 250])), 256);
    const refused = await failureOf(api.refuse("no"));
    assert.equal(refused.code, "E_REFUSED");
    assert.deepEqual(refused.data, { reason: "no" });
    assert.equal((await failureOf(api.empty())).code, "E_QUEUE_EMPTY", "a sync error thrown in a worker keeps its code");
    assert.equal((await failureOf((api.fib as unknown as (n: number) => PromiseLike<unknown>)(99))).code, "E_INVALID_PARAMS");
  });

  test("rpc.list names every method with the shape of its parameters", async (t) => {
    const { conn } = await rpcServer(t, (rpc) => {
      rpc.method("math.add", ([a, b]: [number, number]) => a + b, { params: z.tuple([z.number(), z.number()]), description: "adds" });
      rpc.method("plain", () => 1);
    });
    const list = await new RpcClient(conn).call<{ name: string; params?: { type: string; prefixItems: unknown[] }; description?: string }[]>("rpc.list");
    assert.deepEqual(list.map((m) => m.name), ["health.check", "math.add", "plain", "rpc.list"]);
    const add = list.find((m) => m.name === "math.add");
    assert.equal(add?.description, "adds");
    assert.equal(add?.params?.type, "array");
    assert.deepEqual(add?.params?.prefixItems, [{ type: "number" }, { type: "number" }]);
    assert.equal(list.find((m) => m.name === "plain")?.params, undefined);
  });

  test("hostile rpc.call frames get clear errors and the connection stays usable", async (t) => {
    const { conn } = await rpcServer(t, setupTestApi);
    const bad = async (fields: Record<string, unknown>, body?: Buffer) => {
      try {
        await conn.request("rpc.call", fields, body);
      } catch (err) {
        return (err as WharfError).code;
      }
      return "ok";
    };
    assert.equal(await bad({ method: 5 }), "E_INVALID_PARAMS");
    assert.equal(await bad({}), "E_INVALID_PARAMS");
    assert.equal(await bad({ method: "echo", params: [{ $bin: 3 }], parts: [1] }, Buffer.from("x")), "E_INVALID_PARAMS");
    assert.equal(await bad({ method: "echo", params: [{ $bin: 0 }], parts: [5] }, Buffer.from("x")), "E_INVALID_PARAMS");
    assert.equal(await bad({ method: "echo", parts: "nope" }), "E_INVALID_PARAMS");
    assert.equal(await bad({ method: "echo", timeout: -1 }), "E_INVALID_PARAMS");
    let deep: unknown = { $bin: 0 };
    for (let i = 0; i < 1_000; i += 1) deep = [deep];
    assert.equal(await bad({ method: "echo", params: [deep], parts: [0] }), "E_INVALID_PARAMS");
    // Without binary parts too: a value too deep to send back, or a placeholder with nothing to name, is the
    // caller's error, not a failure of the method that echoes it (found by the fuzzer).
    let plainDeep: unknown = 1;
    for (let i = 0; i < 70; i += 1) plainDeep = { d: plainDeep };
    assert.equal(await bad({ method: "echo", params: [plainDeep] }), "E_INVALID_PARAMS");
    assert.equal(await bad({ method: "echo", params: [[{ $bin: 0 }]] }), "E_INVALID_PARAMS");
    assert.equal(await rpcClient<TestApi>(conn).math.add(1, 1), 2);
  });
});
