import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { connect, WharfError } from "../../../src/client/index.js";
import { AccountStore, login, registerAuth } from "../../../src/services/accounts/index.js";
import { execCommand, registerExec, type ExecPolicy, type OutputStream } from "../../../src/services/exec/index.js";
import { tempDir } from "../../helpers/cli.js";
import { startServer } from "../../helpers/server.js";
import { groupMembers, serveWithUsers, session, waitGroupGone } from "./helpers.js";

const POLICY: ExecPolicy = { execShell: false, execAllow: null, execTimeout: 600_000, execMaxOutput: 1024 ** 4, execMaxConcurrent: 2 };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WharfError, String(err));
    return err.code;
  }
  return "none";
}

/** An in-process server with exec, and a connection logged in as alice. */
async function inProcess(t: Parameters<typeof tempDir>[0], policy: Partial<ExecPolicy> = {}) {
  const dataDir = tempDir(t, "wharf-exec-");
  const accounts = new AccountStore(dataDir);
  await accounts.add("alice", "pw", { canExec: true });
  const { server, url, udpUrl } = await startServer(t, {}, (s) => {
    registerAuth(s, accounts);
    registerExec(s, { dataDir, accounts, config: { ...POLICY, ...policy } });
  });
  const conn = await session(t, url);
  return { server, url, udpUrl, conn, dataDir };
}

describe("execCommand against a server", () => {
  test("stdout and stderr frames arrive in the order the command wrote them", async (t) => {
    const { conn } = await inProcess(t);
    const seen: string[] = [];
    const script = "echo o1; sleep 0.1; echo e1 >&2; sleep 0.1; echo o2; sleep 0.1; echo e2 >&2; sleep 0.1; echo o3";
    const result = await execCommand(conn, ["sh", "-c", script], {
      onOutput: (stream: OutputStream, chunk) => void seen.push(`${stream}:${chunk.toString().trim()}`),
    });
    assert.deepEqual(result, { exitCode: 0, signal: null });
    assert.deepEqual(seen, ["stdout:o1", "stderr:e1", "stdout:o2", "stderr:e2", "stdout:o3"]);
  });

  test("a dropped connection kills the command and the children it started", async (t) => {
    const { url } = await serveWithUsers(t);
    const conn = await session(t, url);
    let pid = 0;
    const started = new Promise<void>((resolve) => {
      void execCommand(conn, ["python3", "-c", "import subprocess, time; subprocess.Popen(['sleep', '300']); print('ready', flush=True); time.sleep(300)"], {
        onStart: (p) => (pid = p),
        onOutput: (_stream, chunk) => {
          if (chunk.toString().includes("ready")) resolve();
        },
      }).catch(() => {});
    });
    await started;
    assert.ok(pid > 0);
    assert.ok(groupMembers(pid).length >= 2, "python and its sleep run");
    conn.destroy();
    await waitGroupGone(pid);
  });

  test("cancelling through an AbortSignal kills the command and rejects with E_CANCELLED", async (t) => {
    const { conn } = await inProcess(t);
    const abort = new AbortController();
    let pid = 0;
    const running = execCommand(conn, ["sh", "-c", "sleep 300 & sleep 300"], { signal: abort.signal, onStart: (p) => (pid = p) });
    while (pid === 0) await sleep(10);
    abort.abort();
    assert.equal(await codeOf(running), "E_CANCELLED");
    await waitGroupGone(pid);
    // The connection is still good for more commands.
    assert.deepEqual(await execCommand(conn, ["true"]), { exitCode: 0, signal: null });
  });

  test("a command that floods a slow client is paused, not buffered", async (t) => {
    const { conn } = await inProcess(t);
    const total = 256 * 1024 * 1024;
    let received = 0;
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let pid = 0;
    const rssBefore = process.memoryUsage().rss;
    const running = execCommand(conn, ["head", "-c", String(total), "/dev/zero"], {
      onStart: (p) => (pid = p),
      onOutput: (_stream, chunk) => {
        received += chunk.length;
        if (received > 1024 * 1024) return stalled; // the client stops reading after 1 MiB
      },
    });
    await sleep(1_500);
    // head would have finished long ago had the server read on: it is blocked writing to a full pipe.
    assert.ok(groupMembers(pid).length === 1, "head still runs, held back");
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 96 * 1024 * 1024, `the server grew by ${grown} bytes while the client stalled`);
    release();
    assert.deepEqual(await running, { exitCode: 0, signal: null });
    assert.equal(received, total);
  });

  test("stdin is fed with backpressure, and stdin of a finished command is reported closed", async (t) => {
    const { conn } = await inProcess(t);
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
    let out = 0;
    const result = await execCommand(conn, ["wc", "-c"], {
      stdin: (async function* () {
        yield* chunks;
      })(),
      onOutput: (_stream, chunk) => void (out = Number(chunk.toString().trim())),
    });
    assert.equal(result.exitCode, 0);
    assert.equal(out, 64 * 64 * 1024);
    // A command that does not read its stdin: the client's input stops being sent once it exits.
    let fed = 0;
    const endless = (async function* () {
      for (;;) {
        fed += 1;
        yield Buffer.alloc(1024);
        await sleep(5);
      }
    })();
    assert.deepEqual(await execCommand(conn, ["true"], { stdin: endless }), { exitCode: 0, signal: null });
    const after = fed;
    await sleep(100);
    assert.ok(fed - after <= 1, "feeding stopped with the command");
  });

  test("a user may run only so many commands at once", async (t) => {
    const { conn, url } = await inProcess(t, { execMaxConcurrent: 1 });
    const abort = new AbortController();
    let pid = 0;
    const first = execCommand(conn, ["sleep", "300"], { signal: abort.signal, onStart: (p) => (pid = p) });
    while (pid === 0) await sleep(10);
    const other = await session(t, url);
    assert.equal(await codeOf(execCommand(other, ["true"])), "E_EXEC_BUSY", "the cap is per user, across connections");
    abort.abort();
    await codeOf(first);
    // The place is free once the killed command has exited on the server, a moment after the client gave up.
    await waitGroupGone(pid);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const outcome = await execCommand(other, ["true"]).catch((err: unknown) => err);
      if (!(outcome instanceof WharfError && outcome.code === "E_EXEC_BUSY")) {
        assert.deepEqual(outcome, { exitCode: 0, signal: null });
        break;
      }
      assert.ok(Date.now() < deadline, "the place was not freed");
      await sleep(20);
    }
  });

  test("without a login, exec.run gets E_AUTH; bad fields get E_INVALID_PARAMS; udp is refused", async (t) => {
    const { url, udpUrl, conn } = await inProcess(t);
    const anonymous = await connect(url);
    t.after(() => anonymous.destroy());
    assert.equal(await codeOf(execCommand(anonymous, ["true"])), "E_AUTH");
    assert.equal(await codeOf(conn.request("exec.run", { argv: [] })), "E_INVALID_PARAMS");
    assert.equal(await codeOf(conn.request("exec.run", { argv: ["ls", 1] })), "E_INVALID_PARAMS");
    assert.equal(await codeOf(conn.request("exec.run", { argv: ["ls"], tty: true })), "E_INVALID_PARAMS");
    assert.equal(await codeOf(conn.request("exec.stdin", { ref: "x" })), "E_INVALID_PARAMS");
    const { udpRequest } = await import("../../../src/client/index.js");
    assert.equal(await codeOf(udpRequest(udpUrl, "exec.run", { argv: ["true"] })), "E_INVALID_PARAMS");
    // The connection survives all of that.
    assert.deepEqual(await execCommand(conn, ["true"]), { exitCode: 0, signal: null });
  });

  test("taking the exec permission away applies to the next command of a logged-in user", async (t) => {
    const dataDir = tempDir(t, "wharf-exec-");
    const accounts = new AccountStore(dataDir);
    await accounts.add("carol", "pw", { canExec: true });
    const { url } = await startServer(t, {}, (s) => {
      registerAuth(s, accounts);
      registerExec(s, { dataDir, accounts, config: POLICY });
    });
    const conn = await connect(url);
    t.after(() => conn.destroy());
    await login(conn, "carol", "pw");
    assert.equal((await execCommand(conn, ["true"])).exitCode, 0);
    await accounts.setOptions("carol", { canExec: false });
    assert.equal(await codeOf(execCommand(conn, ["true"])), "E_FORBIDDEN");
  });
});
