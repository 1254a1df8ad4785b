import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test, type TestContext } from "node:test";
import { connect, WharfError } from "../../../src/client/index.js";
import { login } from "../../../src/services/accounts/index.js";
import { downloadPartialPaths, FileRequest } from "../../../src/services/files/index.js";
import { partialKey } from "../../../src/services/files/layout.js";
import { startServe, tempDir, WHARF_BIN } from "../../helpers/cli.js";
import { blake3File, dataWithUsers, jsonLines, makeSparseFile, sha256File, wharfAs } from "./helpers.js";

const MiB = 1024 * 1024;
/** Big enough that a transfer is still running when the watcher sees its first bytes land. */
const BIG = 256 * MiB;
const LANDED = 24 * MiB;

/** A `wharf` client verb as a child process that the test can kill. */
function spawnWharf(t: TestContext, url: string, args: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [WHARF_BIN, ...args, "--server", url, "--user", "alice"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WHARF_PASSWORD: "pw" },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.resume();
  const exited = once(child, "exit").then(([code]) => ({ code: code as number | null, stderr }));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return { child, exited };
}

/** Polls until `size()` reaches `atLeast` bytes; resolves the size seen. */
async function grownTo(size: () => number, atLeast: number, what: string): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const now = size();
    if (now >= atLeast) return now;
    if (Date.now() > deadline) throw new Error(`${what} did not reach ${atLeast} bytes (has ${now})`);
    await sleep(10);
  }
}

function uploadPartialSize(data: string): number {
  const dir = join(data, "homes", "alice", ".wharf", "partials");
  let total = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!name.endsWith(".part")) continue;
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // landed meanwhile
    }
  }
  return total;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A put right after a killed one may find the server still letting go of the dead upload's lock. */
async function putRetryingBusy(url: string, args: string[]): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt += 1) {
    const run = await wharfAs(url, "alice", [...args, "--json"], { timeout: 180_000 });
    if (run.code === 0) return jsonLines(run.stdout)[0];
    if (!run.stderr.includes("E_BUSY") || attempt > 50) throw new Error(`put failed: ${run.stderr}`);
    await sleep(100);
  }
}

describe("interrupted transfers resume", () => {
  test("a put whose client is killed midway resumes: only the rest is sent, and the whole file is verified", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const local = join(tempDir(t), "big.bin");
    await makeSparseFile(local, BIG, 1);
    const first = spawnWharf(t, url, ["put", local, "big.bin"]);
    const seen = await grownTo(() => uploadPartialSize(data), LANDED, "the partial upload");
    first.child.kill("SIGKILL");
    await first.exited;
    assert.equal(existsSync(join(data, "homes", "alice", "big.bin")), false, "no torn file under the real name");
    const report = await putRetryingBusy(url, ["put", local, "big.bin"]);
    const sha256 = await sha256File(local);
    assert.ok(Number(report.resumedFrom) >= seen, `resumed from ${String(report.resumedFrom)}, ${seen} bytes had landed`);
    assert.ok(Number(report.resumedFrom) < BIG);
    assert.equal(report.hash, await blake3File(local));
    assert.equal(report.size, BIG);
    assert.equal(await sha256File(join(data, "homes", "alice", "big.bin")), sha256);
  });

  test("a put whose server is killed midway leaves the old version whole, and resumes against the restarted server", async (t) => {
    const data = await dataWithUsers(t);
    const serve = await startServe(t, ["--data", data, "--no-udp"]);
    const dir = tempDir(t);
    const old = join(dir, "old.bin");
    writeFileSync(old, "version 1\n");
    assert.equal((await wharfAs(serve.url("tcp"), "alice", ["put", old, "data.bin"])).code, 0);
    const local = join(dir, "new.bin");
    await makeSparseFile(local, BIG, 2);
    const put = spawnWharf(t, serve.url("tcp"), ["put", local, "data.bin", "--retries", "0"]);
    const seen = await grownTo(() => uploadPartialSize(data), LANDED, "the partial upload");
    await serve.stop("SIGKILL");
    const failed = await put.exited;
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^wharf: E_CONNECTION_CLOSED: .*\n$/);
    assert.equal(readFileSync(join(data, "homes", "alice", "data.bin"), "utf8"), "version 1\n", "the name still holds the old version, whole");

    const restarted = await startServe(t, ["--data", data, "--no-udp"]);
    const report = await putRetryingBusy(restarted.url("tcp"), ["put", local, "data.bin"]);
    assert.ok(Number(report.resumedFrom) >= seen, `resumed from ${String(report.resumedFrom)}, ${seen} bytes had landed`);
    const sha256 = await sha256File(local);
    assert.equal(report.hash, await blake3File(local));
    assert.equal(await sha256File(join(data, "homes", "alice", "data.bin")), sha256);
  });

  test("a get whose client is killed midway resumes from the bytes it kept", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const dir = tempDir(t);
    const source = join(dir, "source.bin");
    await makeSparseFile(source, BIG, 3);
    assert.equal((await wharfAs(url, "alice", ["put", source, "down.bin"], { timeout: 180_000 })).code, 0);
    const local = join(dir, "down.bin");
    const get = spawnWharf(t, url, ["get", "down.bin", local]);
    const partial = downloadPartialPaths(local);
    const seen = await grownTo(() => fileSize(partial.data), LANDED, "the partial download");
    get.child.kill("SIGKILL");
    await get.exited;
    assert.equal(existsSync(local), false, "no torn file under the real name");
    const run = await wharfAs(url, "alice", ["get", "down.bin", local, "--json"], { timeout: 180_000 });
    assert.equal(run.code, 0, run.stderr);
    const [report] = jsonLines(run.stdout);
    assert.ok(Number(report.resumedFrom) >= seen, `resumed from ${String(report.resumedFrom)}, ${seen} bytes were kept`);
    assert.equal(report.hash, await blake3File(source));
    assert.equal(await blake3File(local), report.hash);
    assert.equal(existsSync(partial.data), false);
  });

  test("with several server processes (--workers 2), one name has one upload at a time", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp", "--workers", "2"])).url("tcp");
    const conns = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const conn = await connect(url);
        t.after(() => conn.destroy());
        await login(conn, "alice", "pw");
        return conn;
      }),
    );
    const results = await Promise.allSettled(conns.map((conn) => conn.request(FileRequest.PUT_BEGIN, { path: "shared.bin", fileSize: 10, stamp: "s" })));
    const codes = results.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as WharfError).code)).sort();
    assert.deepEqual(codes, ["E_BUSY", "E_BUSY", "E_BUSY", "E_BUSY", "E_BUSY", "ok"]);
  });

  test("wharf serve --partial-ttl deletes partials nobody has touched for that long", async (t) => {
    const data = await dataWithUsers(t);
    const dir = join(data, "homes", "alice", ".wharf", "partials");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    const key = partialKey("stale.bin");
    writeFileSync(join(dir, `${key}.part`), "abandoned bytes");
    writeFileSync(join(dir, `${key}.json`), JSON.stringify({ path: "stale.bin", fileSize: 100, stamp: "s", created: Date.now() }));
    await startServe(t, ["--data", data, "--no-udp", "--partial-ttl", "1"]);
    // The sweep removes the part, then its record and lock file: wait for all of them, not just the first.
    await grownTo(() => (readdirSync(dir).length === 0 ? 1 : 0), 1, "the sweep");
    assert.deepEqual(readdirSync(dir), []);
    void WharfError;
  });
});
