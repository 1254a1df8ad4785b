import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AccountStore } from "../../../src/services/accounts/index.js";
import { startServe, tempDir } from "../../helpers/cli.js";
import { runWharfFully as runWharf } from "../exec/helpers.js";

describe("wharf call", () => {
  test("prints a result as JSON, a stream as one JSON line per item, and errors as one line", async (t) => {
    const serve = await startServe(t, ["--no-udp", "--rpc-demo"]);
    const server = ["--server", serve.url("tcp")];
    const add = await runWharf(["call", "math.add", "[1, 2.5]", ...server]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, "3.5\n");
    const count = await runWharf(["call", "demo.count", "[3]", ...server]);
    assert.equal(count.stdout, "0\n1\n2\n");
    const health = await runWharf(["call", "health.check", ...server, "--pretty"]);
    assert.equal(health.stdout, '{\n  "status": "SERVING"\n}\n');
    const invalid = await runWharf(["call", "math.add", '["a", 1]', ...server]);
    assert.equal(invalid.code, 1);
    assert.equal(invalid.stderr, "wharf: E_INVALID_PARAMS: math.add: 0: Invalid input: expected number, received string\n");
    const missing = await runWharf(["call", "no.such", ...server]);
    assert.equal(missing.stderr, 'wharf: E_NO_METHOD: no method "no.such"\n');
    const deadline = await runWharf(["call", "demo.count", "[5, 1000]", "--timeout", "0.2", ...server]);
    assert.equal(deadline.code, 1);
    assert.match(deadline.stderr, /^wharf: E_DEADLINE: /);
    const notJson = await runWharf(["call", "math.add", "[1,", ...server]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /^wharf: E_USAGE: the parameters are not JSON/);
  });

  test("--list names the methods with their parameters and descriptions", async (t) => {
    const serve = await startServe(t, ["--no-udp", "--rpc-demo"]);
    const list = await runWharf(["call", "--list", "--server", serve.url("tcp")]);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split("\n");
    assert.deepEqual(lines.map((line) => line.split(/[(\t]/)[0]), ["demo.count", "echo", "health.check", "math.add", "rpc.list"]);
    assert.ok(lines.includes("math.add(number, number)\tthe sum of two numbers"), list.stdout);
  });

  test("logs in when a user is named", async (t) => {
    const data = tempDir(t);
    await new AccountStore(data).add("alice", "pw");
    const serve = await startServe(t, ["--no-udp", "--data", data]);
    const ok = await runWharf(["call", "health.check", "--server", serve.url("tcp"), "--user", "alice"], { env: { WHARF_PASSWORD: "pw" } });
    assert.equal(ok.stdout, '{"status":"SERVING"}\n');
    const wrong = await runWharf(["call", "health.check", "--server", serve.url("tcp"), "--user", "alice"], { env: { WHARF_PASSWORD: "no" } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^wharf: E_AUTH: /);
  });
});
