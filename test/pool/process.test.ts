import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Process, ProcessStateError, task } from "../../src/pool/index.js";

const url = new URL("./fixtures/tasks.js", import.meta.url);
const parentScript = fileURLToPath(new URL("./fixtures/parent.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "wharf-process-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runParent(lifetime: string, ms: number, file: string): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [parentScript, lifetime, String(ms), file], { timeout: 20_000 }, (error, stdout) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ stdout, code: error ? (error.code as number) : 0 });
    });
  });
}

describe("Process", () => {
  it("start() runs the task in a child; join() resolves true and exitCode is 0", async () => {
    const file = join(dir, "ok.txt");
    const proc = new Process(task(url, "writeAfter"), [10, file, "hello"]);
    assert.equal(proc.pid, undefined);
    assert.equal(proc.isAlive(), false);
    proc.start();
    assert.equal(typeof proc.pid, "number");
    assert.notEqual(proc.pid, process.pid);
    assert.equal(proc.isAlive(), true);
    assert.equal(proc.exitCode, null);
    assert.equal(await proc.join(), true);
    assert.equal(proc.exitCode, 0);
    assert.equal(proc.isAlive(), false);
    assert.equal(readFileSync(file, "utf8"), "hello");
  });

  it("a task that throws exits with code 1; process.exit(n) gives n", async () => {
    const failing = new Process(task(url, "fail"), ["from a process"]);
    failing.start();
    await failing.join();
    assert.equal(failing.exitCode, 1);
    const exiting = new Process(task(url, "exitNow"), [5]);
    exiting.start();
    await exiting.join();
    assert.equal(exiting.exitCode, 5);
  });

  it("join({ timeout }) resolves false while running; terminate() ends it with -15 (SIGTERM)", async () => {
    const proc = new Process(task(url, "sleep"), [30_000, null]);
    proc.start();
    assert.equal(await proc.join({ timeout: 50 }), false);
    assert.equal(proc.isAlive(), true);
    proc.terminate();
    assert.equal(await proc.join({ timeout: 10_000 }), true);
    assert.equal(proc.exitCode, -15);
    assert.equal(alive(proc.pid!), false);
  });

  it("kill() ends it with -9", async () => {
    const proc = new Process(task(url, "busy"), [30_000]);
    proc.start();
    proc.kill();
    await proc.join();
    assert.equal(proc.exitCode, -9);
  });

  it("misuse: start() twice and join() before start() raise ProcessStateError", async () => {
    const proc = new Process(task(url, "add"), [1, 2]);
    await assert.rejects(proc.join(), (err: unknown) => err instanceof ProcessStateError && err.code === "E_PROCESS_STATE");
    proc.start();
    assert.throws(() => proc.start(), ProcessStateError);
    await proc.join();
    assert.throws(() => new Process(task(url, "add"), "no" as never), /args must be an array/);
    assert.throws(() => new Process(task(url, "add"), [], { daemon: "yes" as never }), /options\.daemon/);
  });

  it("a daemon child dies with its parent and does not keep it alive", async () => {
    const file = join(dir, "daemon.txt");
    const started = performance.now();
    const { stdout, code } = await runParent("daemon", 10_000, file);
    assert.equal(code, 0);
    assert.ok(performance.now() - started < 8000, "the parent did not wait for its daemon child");
    const pid = Number(/child (\d+)/.exec(stdout)?.[1]);
    assert.ok(pid > 0, stdout);
    for (let i = 0; i < 50 && alive(pid); i += 1) await sleep(100);
    assert.equal(alive(pid), false, "the daemon child was killed with its parent");
    assert.equal(existsSync(file), false, "the daemon never finished its task");
  });

  it("a non-daemon child keeps its parent alive until it ends, as in Python", async () => {
    const file = join(dir, "keep.txt");
    const started = performance.now();
    const { code } = await runParent("keep", 400, file);
    assert.equal(code, 0);
    assert.ok(performance.now() - started >= 350, "the parent waited for the child");
    assert.equal(readFileSync(file, "utf8"), "written", "the child finished its task");
  });
});
