import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { z } from "zod";
import { WharfError } from "../../../src/client/index.js";
import type { Connection } from "../../../src/client/index.js";
import type { RpcContext, RpcRegistry } from "../../../src/services/rpc/index.js";
import { startServe } from "../../helpers/cli.js";
import { rpcServer } from "./helpers.js";

const notified: unknown[] = [];

function setup(rpc: RpcRegistry): void {
  rpc.method("subtract", (params: unknown) => {
    if (Array.isArray(params)) return (params[0] as number) - (params[1] as number);
    const { minuend, subtrahend } = params as { minuend: number; subtrahend: number };
    return minuend - subtrahend;
  });
  rpc.method("math.add", ([a, b]: [number, number]) => a + b, { params: z.tuple([z.number(), z.number()]) });
  rpc.method("notify", (params: unknown) => void notified.push(params));
  rpc.method("fail", () => {
    throw new WharfError("E_OUT_OF_STOCK", "no more widgets", { data: { sku: "w-1" } });
  });
  rpc.method("bug", () => {
    throw new TypeError("oops");
  });
  rpc.method("bytes", () => Buffer.from("hello"));
  rpc.method("count", async function* ([n]: [number]) {
    for (let i = 0; i < n; i += 1) yield i;
  });
  rpc.method("slow", async (_p: unknown, ctx: RpcContext) => {
    await sleep(60_000, undefined, { signal: ctx.signal });
  });
}

/** Sends a JSON-RPC body (text, exactly as given) and parses the response body; null when there is none. */
async function jsonrpc(conn: Connection, text: string, fields: Record<string, unknown> = {}): Promise<unknown> {
  const reply = await conn.request("jsonrpc", fields, Buffer.from(text));
  return reply.body.length === 0 ? null : JSON.parse(reply.body.toString());
}

describe("JSON-RPC 2.0 over a frame", () => {
  test("the examples of the JSON-RPC 2.0 specification get the specified answers", async (t) => {
    const { conn } = await rpcServer(t, setup);
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}'), { jsonrpc: "2.0", result: 19, id: 1 });
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}'), { jsonrpc: "2.0", result: 19, id: 3 });
    assert.equal(await jsonrpc(conn, '{"jsonrpc": "2.0", "method": "notify", "params": [1,2,3,4,5]}'), null, "a notification gets no response");
    assert.deepEqual(notified.at(-1), [1, 2, 3, 4, 5], "but it was run");
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}'), {
      jsonrpc: "2.0",
      error: { code: -32601, message: "Method not found", data: { code: "E_NO_METHOD", message: 'no method "foobar"' } },
      id: "1",
    });
    const parse = (await jsonrpc(conn, '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')) as { error: { code: number }; id: null };
    assert.equal(parse.error.code, -32700);
    assert.equal(parse.id, null);
    const invalid = (await jsonrpc(conn, '{"jsonrpc": "2.0", "method": 1, "params": "bar"}')) as { error: { code: number }; id: null };
    assert.equal(invalid.error.code, -32600);
    assert.equal(invalid.id, null);
    const batchParse = (await jsonrpc(conn, '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]')) as { error: { code: number } };
    assert.equal(batchParse.error.code, -32700);
    const empty = (await jsonrpc(conn, "[]")) as { error: { code: number }; id: null };
    assert.deepEqual([empty.error.code, empty.id], [-32600, null]);
    const junk = (await jsonrpc(conn, "[1,2,3]")) as { error: { code: number }; id: null }[];
    assert.deepEqual(junk.map((r) => [r.error.code, r.id]), [[-32600, null], [-32600, null], [-32600, null]]);
    const batch = (await jsonrpc(
      conn,
      JSON.stringify([
        { jsonrpc: "2.0", method: "math.add", params: [1, 2], id: "1" },
        { jsonrpc: "2.0", method: "notify", params: [7] },
        { jsonrpc: "2.0", method: "subtract", params: [42, 23], id: "2" },
        { foo: "boo" },
        { jsonrpc: "2.0", method: "foo.get", params: { name: "myself" }, id: "5" },
        { jsonrpc: "2.0", method: "math.add", params: ["x"], id: 9 },
      ]),
    )) as { id: unknown; result?: unknown; error?: { code: number } }[];
    assert.deepEqual(
      batch.map((r) => [r.id, r.result ?? r.error?.code]),
      [["1", 3], ["2", 19], [null, -32600], ["5", -32601], [9, -32602]],
    );
    assert.equal(await jsonrpc(conn, JSON.stringify([{ jsonrpc: "2.0", method: "notify", params: [1] }, { jsonrpc: "2.0", method: "notify", params: [2] }])), null, "a batch of notifications gets no response");
  });

  test("application errors map to -32000 with the wharf code in data; bugs to -32603; bytes to base64; streams to arrays", async (t) => {
    const { conn } = await rpcServer(t, setup);
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc":"2.0","method":"fail","id":1}'), {
      jsonrpc: "2.0",
      error: { code: -32000, message: "no more widgets", data: { code: "E_OUT_OF_STOCK", data: { sku: "w-1" } } },
      id: 1,
    });
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc":"2.0","method":"bug","id":2}'), {
      jsonrpc: "2.0",
      error: { code: -32603, message: "Internal error", data: { code: "E_INTERNAL" } },
      id: 2,
    });
    const invalid = (await jsonrpc(conn, '{"jsonrpc":"2.0","method":"math.add","params":[1],"id":3}')) as { error: { code: number; message: string; data: { code: string } } };
    assert.equal(invalid.error.code, -32602);
    assert.match(invalid.error.message, /^math\.add: /);
    assert.equal(invalid.error.data.code, "E_INVALID_PARAMS");
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc":"2.0","method":"bytes","id":4}'), { jsonrpc: "2.0", result: "aGVsbG8=", id: 4 });
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc":"2.0","method":"count","params":[3],"id":5}'), { jsonrpc: "2.0", result: [0, 1, 2], id: 5 });
    assert.deepEqual(await jsonrpc(conn, '{"jsonrpc":"1.0","method":"count","id":6}'), {
      jsonrpc: "2.0",
      error: { code: -32600, message: 'Invalid Request: jsonrpc must be "2.0"' },
      id: 6,
    });
    const deadline = (await jsonrpc(conn, '{"jsonrpc":"2.0","method":"slow","id":7}', { timeout: 100 })) as { error: { code: number; data: { code: string } } };
    assert.deepEqual([deadline.error.code, deadline.error.data.code], [-32000, "E_DEADLINE"]);
  });

  test("a Python peer speaks JSON-RPC to wharf serve with nothing but the standard library", async (t) => {
    const serve = await startServe(t, ["--no-udp", "--rpc-demo"]);
    const { port } = new URL(serve.url("tcp").replace("tcp:", "http:"));
    const script = String.raw`
import json, socket, struct, sys
def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk: raise ConnectionError("closed")
        data += chunk
    return data
def jsonrpc(sock, id_, payload):
    body = json.dumps(payload).encode()
    header = json.dumps({"type": "jsonrpc", "id": id_, "size": len(body)}).encode()
    sock.sendall(struct.pack(">I", len(header)) + header + body)
    (n,) = struct.unpack(">I", recv_exactly(sock, 4))
    reply = json.loads(recv_exactly(sock, n))
    return json.loads(recv_exactly(sock, reply.get("size", 0)) or b"null")
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as sock:
    print(json.dumps(jsonrpc(sock, 1, {"jsonrpc": "2.0", "method": "math.add", "params": [40, 2], "id": "a"})))
    print(json.dumps(jsonrpc(sock, 2, [{"jsonrpc": "2.0", "method": "health.check", "id": 1}, {"jsonrpc": "2.0", "method": "nope", "id": 2}])))
`;
    const run = spawnSync("python3", ["-c", script, port], { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    const [single, batch] = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(single, { jsonrpc: "2.0", result: 42, id: "a" });
    assert.deepEqual(batch[0], { jsonrpc: "2.0", result: { status: "SERVING" }, id: 1 });
    assert.equal(batch[1].error.code, -32601);
  });
});
