import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runWharf, tempDir } from "../helpers/cli.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("one way to fail", () => {
  test("a bad flag is one line `wharf: E_USAGE: ...` and exit code 2, for every verb", async () => {
    for (const args of [["put", "--bogus", "x"], ["serve", "--port", "x"], ["user", "list", "--nope"], ["nope"]]) {
      const run = await runWharf(args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^wharf: E_USAGE: .+\n/, args.join(" "));
    }
  });

  test("a bad URL and a bad JSON argument are usage errors too (exit code 2)", async () => {
    const url = await runWharf(["ls", "--server", "http://example.com", "--user", "a"], { env: { WHARF_PASSWORD: "x" } });
    assert.equal(url.code, 2, url.stderr);
    assert.match(url.stderr, /^wharf: E_USAGE: .*http:/);
    const json = await runWharf(["call", "math.add", "[1,", "--server", "tcp://127.0.0.1:1"]);
    assert.equal(json.code, 2, json.stderr);
    assert.match(json.stderr, /^wharf: E_USAGE: the parameters are not JSON/);
  });

  test("output into a reader that went away (`wharf ... | head`) ends wharf quietly, with no stack trace", async () => {
    const { spawn } = await import("node:child_process");
    const { WHARF_BIN } = await import("../helpers/cli.js");
    const child = spawn(process.execPath, [WHARF_BIN, "completion", "bash"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // the reader is gone before wharf writes: its first write fails with EPIPE
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, "close");
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled|at /);
  });

  test("wharf exec keeps 255 for its own failures, usage errors included", async () => {
    const missing = await runWharf(["exec"]);
    assert.equal(missing.code, 255);
    assert.match(missing.stderr, /^wharf: E_USAGE: /);
    const flag = await runWharf(["exec", "--timeout", "0", "--", "true"], { env: { WHARF_PASSWORD: "x" } });
    assert.equal(flag.code, 255);
    assert.equal(flag.stderr, "wharf: E_USAGE: --timeout must be more than 0 seconds\n");
  });

  test("with --json the failure is one JSON object on stderr", async () => {
    const usage = await runWharf(["ls", "--json", "--bogus"]);
    assert.equal(usage.code, 2);
    const parsed = JSON.parse(usage.stderr) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, "E_USAGE");
    assert.match(parsed.error.message, /--bogus/);
    const remote = await runWharf(["ls", "--json", "--server", "tcp://127.0.0.1:1", "--user", "a"], { env: { WHARF_PASSWORD: "x" } });
    assert.equal(remote.code, 1);
    assert.equal((JSON.parse(remote.stderr) as { error: { code: string } }).error.code, "E_CONNECT");
  });

  test("local failures get codes and name the option or path", async (t) => {
    const dir = tempDir(t);
    const tls = await runWharf(["serve", "--data", join(dir, "d"), "--port", "0", "--no-udp", "--tls-cert", "/nonexistent/x", "--tls-key", "/nonexistent/y"]);
    assert.equal(tls.code, 1);
    assert.equal(tls.stderr, "wharf: E_NOT_FOUND: --tls-cert /nonexistent/x: no such file or folder\n");
    const put = await runWharf(["put", join(dir, "missing.txt"), "--user", "a"], { env: { WHARF_PASSWORD: "x" } });
    assert.equal(put.code, 1);
    assert.equal(put.stderr, `wharf: E_NOT_FOUND: ${join(dir, "missing.txt")}: no such local file\n`);
  });

  test("a server URL that is not a wharf server says so, not a header length", async (t) => {
    const http = createServer((_req, res) => res.end("hello"));
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    t.after(() => http.close());
    const port = (http.address() as AddressInfo).port;
    const run = await runWharf(["ls", "--server", `tcp://127.0.0.1:${port}`, "--user", "a"], { env: { WHARF_PASSWORD: "x" } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^wharf: E_PROTOCOL: tcp:\/\/127\.0\.0\.1:\d+ is not a wharf server \(it answered "HTTP\/1\.1 400 Bad Request/);
    assert.doesNotMatch(run.stderr, /header length|bytes/i);
  });

  test("--help prints defaults in the unit the option takes, the --user default once, and the exit-code table", async () => {
    const serve = (await runWharf(["serve", "--help"])).stdout.replace(/\s+/g, " ");
    assert.match(serve, /--idle-timeout <seconds> close connections idle this long; 0: never \(default: 120\)/);
    assert.match(serve, /--shutdown-timeout <seconds> .*? \(default: 10\)/);
    assert.match(serve, /--partial-ttl <seconds> .*? \(default: 86400\)/);
    assert.match(serve, /--exec-timeout <seconds> .*? \(default: 3600\)/);
    assert.match(serve, /--token-ttl <duration> .*? \(default: 30d\)/);
    assert.match(serve, /--max-body-size <size> largest buffered body \(default: 16M\)/);
    const ping = (await runWharf(["ping", "--help"])).stdout.replace(/\s+/g, " ");
    assert.match(ping, /-i, --interval <seconds> pause between pings \(default: 1\)/);
    assert.match(ping, /-W, --timeout <seconds> wait this long for each reply \(default: 5\)/);
    const time = (await runWharf(["time", "--help"])).stdout.replace(/\s+/g, " ");
    assert.match(time, /-W, --timeout <seconds> wait this long for each reply \(default: 2\)/);
    const get = (await runWharf(["get", "--help"])).stdout;
    assert.equal(get.match(/default: the user of wharf login/g)?.length, 1);
    assert.equal((get.match(/\(default:/g) ?? []).length, [...get.matchAll(/\(default:/g)].length);
    assert.doesNotMatch(get.replace(/\s+/g, " "), /--user <name> .*\(default: "/, "no second default for --user");
    for (const help of [get, (await runWharf(["--help"])).stdout]) {
      assert.match(help, /Exit codes:\n {2}0 {4}success\n {2}1 {4}the server or the operation failed.*\n {2}2 {4}usage error/);
    }
    const readme = readFileSync(join(root, "README.md"), "utf8");
    assert.match(readme, /\| 0 \| success \|/);
    assert.match(readme, /\| 2 \| usage error/);
    assert.match(readme, /\| 255 \|/);
  });
});
