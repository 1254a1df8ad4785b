/**
 * Issue 3: a client written in Python with nothing but socket, struct and json (test/peers/wharf_client.py)
 * talks to a real `wharf serve` over TCP and UDP. If it passes, the wire format is implementable from its
 * description by a peer that shares no code with wharf.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startServe, type ServeChild } from "./serve-child.js";

/** The script is not compiled: from dist/test/peers/ back to the source tree. */
const SCRIPT = fileURLToPath(new URL("../../../test/peers/wharf_client.py", import.meta.url));
const PYTHON_TIMEOUT_MS = 60_000;

interface CheckLine {
  check: string;
  ok: boolean;
  [field: string]: unknown;
}

interface PythonRun {
  code: number | string;
  checks: CheckLine[];
  stdout: string;
  stderr: string;
}

const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
const noPython = python.error !== undefined ? `python3 is not available (${python.error.message})` : false;

/** Runs the Python client to completion (killed after PYTHON_TIMEOUT_MS) and parses its JSON lines. */
function runPython(tcpUrl: string, udpUrl: string): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [SCRIPT, tcpUrl, udpUrl], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), PYTHON_TIMEOUT_MS);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const checks = stdout
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as CheckLine);
      resolve({ code: code ?? signal ?? "unknown", checks, stdout, stderr });
    });
  });
}

describe("a Python peer (socket, struct, json only) against wharf serve", { skip: noPython }, () => {
  let server: ServeChild | undefined;
  let run: PythonRun;

  before(async () => {
    server = await startServe();
    run = await runPython(server.tcpUrl, server.udpUrl);
  });

  after(async () => {
    await server?.stop();
  });

  const checks = (name: string): CheckLine[] => run.checks.filter((line) => line.check === name);
  const context = (): string => `python stderr:\n${run.stderr}\nserver stderr:\n${server?.stderr() ?? ""}`;

  test("the Python client runs every check and exits 0", () => {
    assert.equal(run.code, 0, context());
    assert.ok(run.checks.every((line) => line.ok === true), run.stdout);
    assert.deepEqual(run.checks.at(-1), { check: "done", ok: true });
  });

  test("ping echoes bodies of 0 B, 1 B, 64 KiB and 1 MiB over TCP", () => {
    assert.deepEqual(
      checks("tcp-ping").map((line) => line.size),
      [0, 1, 64 * 1024, 1024 * 1024],
      context(),
    );
  });

  test("a header without size is a frame with an empty body, and ids up to 2^53-1 round-trip", () => {
    assert.equal(checks("tcp-ping-no-size").length, 1, context());
    assert.deepEqual(checks("tcp-ping-max-id").map((line) => line.id), [Number.MAX_SAFE_INTEGER], context());
  });

  test("50 pipelined requests get 50 replies, matched by id, with their own bodies", () => {
    const [line] = checks("tcp-pipelining");
    assert.ok(line !== undefined, context());
    assert.equal(line.requests, 50);
    assert.equal(line.replies, 50);
  });

  test("an unknown type gets E_UNKNOWN_TYPE and the connection stays usable", () => {
    assert.deepEqual(checks("tcp-unknown-type"), [
      { check: "tcp-unknown-type", ok: true, code: "E_UNKNOWN_TYPE", connection_usable: true },
    ], context());
  });

  test("UDP: one datagram is one frame, ping is echoed and an unknown type gets E_UNKNOWN_TYPE", () => {
    assert.deepEqual(checks("udp-ping").map((line) => line.size), [0, 1024], context());
    assert.equal(checks("udp-unknown-type").length, 1, context());
  });

  test("wharf serve exits 0 on SIGTERM after serving the peer", async () => {
    assert.ok(server !== undefined);
    assert.equal(await server.stop(), 0, server.stderr());
  });
});
