import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { startServe, tempDir, WHARF_BIN } from "../../helpers/cli.js";
import { dataWithUsers, jsonLines, makeSparseFile, sha256File } from "./helpers.js";

const MiB = 1024 * 1024;
/** Over 2 GiB, so every offset also crosses 2^31; sparse on the sending side. */
const SIZE = 2 * 1024 * MiB + 12_345;
/** Memory a process may reach at its peak: node itself takes ~60 MiB; a buffered file would take GiBs. */
const MEMORY_BOUND = 300 * MiB;

/** The peak resident memory of a live process, from /proc (bytes). */
function peakRss(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(match !== null);
  return Number(match[1]) * 1024;
}

/** Runs a client verb, sampling its peak memory until it exits. */
async function runMeasured(url: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; peak: number }> {
  const child = spawn(process.execPath, [WHARF_BIN, ...args, "--server", url, "--user", "alice", "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WHARF_PASSWORD: "pw" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, peakRss(child.pid as number));
    } catch {
      // exited between samples
    }
  }, 50);
  const [code] = await once(child, "exit");
  clearInterval(sampler);
  return { code: code as number | null, stdout, stderr, peak };
}

describe("a multi-GiB file", () => {
  test("round-trips in sha256 mode (put --hash sha256; the get follows the stored algorithm) with matching hashes on both sides while client and server memory stay flat", { timeout: 600_000 }, async (t) => {
    const data = await dataWithUsers(t);
    const serve = await startServe(t, ["--data", data, "--no-udp"]);
    const url = serve.url("tcp");
    const dir = tempDir(t);
    const source = join(dir, "big.img");
    await makeSparseFile(source, SIZE, 7);
    const sha256 = await sha256File(source);

    const put = await runMeasured(url, ["put", source, "images/big.img", "--hash", "sha256"]);
    assert.equal(put.code, 0, put.stderr);
    const [putReport] = jsonLines(put.stdout);
    assert.deepEqual([putReport.size, putReport.sha256, putReport.resumedFrom], [SIZE, sha256, 0]);

    const copy = join(dir, "copy.img");
    const get = await runMeasured(url, ["get", "images/big.img", copy]);
    assert.equal(get.code, 0, get.stderr);
    const [getReport] = jsonLines(get.stdout);
    assert.deepEqual([getReport.size, getReport.sha256, getReport.resumedFrom], [SIZE, sha256, 0]);
    const same = spawnSync("cmp", [source, copy], { encoding: "utf8" });
    assert.equal(same.status, 0, `the downloaded copy differs from the source: ${same.stdout}${same.stderr}`);
    t.diagnostic(`put ${String(putReport.seconds)} s, get ${String(getReport.seconds)} s`);

    const server = peakRss(serve.child.pid as number);
    const mib = (n: number): string => `${(n / MiB).toFixed(0)} MiB`;
    t.diagnostic(`peak memory: server ${mib(server)}, put client ${mib(put.peak)}, get client ${mib(get.peak)}`);
    assert.ok(put.peak > 0 && get.peak > 0, "the clients were sampled");
    assert.ok(server < MEMORY_BOUND, `server peak ${mib(server)}`);
    assert.ok(put.peak < MEMORY_BOUND, `put client peak ${mib(put.peak)}`);
    assert.ok(get.peak < MEMORY_BOUND, `get client peak ${mib(get.peak)}`);
  });
});
