import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { connect, WharfError, type Connection } from "../../../src/client/index.js";
import { login } from "../../../src/services/accounts/index.js";
import { putFileReconnecting } from "../../../src/services/files/client-put.js";
import { tempDir } from "../../helpers/cli.js";
import { blake3File, makeSparseFile, sha256File, startFilesServer } from "./helpers.js";

const MiB = 1024 * 1024;

async function loggedIn(url: string): Promise<Connection> {
  const conn = await connect(url);
  await login(conn, "alice", "pw");
  return conn;
}

function partialBytes(data: string): number {
  const dir = join(data, "homes", "alice", ".wharf", "partials");
  let total = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) if (name.endsWith(".part")) total += statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

describe("putFileReconnecting()", () => {
  test("a put whose server shuts down midway goes on over a new connection to another node of the same storage, from where it stopped", async (t) => {
    const a = await startFilesServer(t);
    const b = await startFilesServer(t, { dataDir: a.dataDir, users: {} });
    const local = join(tempDir(t), "big.bin");
    await makeSparseFile(local, 256 * MiB, 3);
    const conns: Connection[] = [];
    t.after(() => conns.forEach((c) => c.destroy()));
    const retries: string[] = [];
    const putting = putFileReconnecting(
      async (fresh) => {
        const conn = await loggedIn(fresh ? b.url : a.url);
        conns.push(conn);
        return conn;
      },
      local,
      "big.bin",
      { backoff: 50, onRetry: ({ error }) => retries.push(error.code) },
    );
    for (let i = 0; i < 2_000 && partialBytes(a.dataDir) < 16 * MiB; i += 1) await sleep(10);
    const landed = partialBytes(a.dataDir);
    assert.ok(landed >= 16 * MiB, `the upload started (${landed} bytes)`);
    await a.server.close({ timeout: 0 });
    const result = await putting;
    assert.equal(retries.length, 1, `retried once: ${retries.join(", ")}`);
    assert.ok(["E_SHUTTING_DOWN", "E_CONNECTION_CLOSED"].includes(retries[0]!), retries[0]);
    assert.ok(result.resumedFrom >= landed - 8 * MiB && result.resumedFrom > 0, `resumed from ${result.resumedFrom}, ${landed} had landed`);
    assert.equal(result.size, 256 * MiB);
    assert.equal(result.hash, await blake3File(local));
    assert.equal(await sha256File(join(a.dataDir, "homes", "alice", "big.bin")), await sha256File(local));
  });

  test("gives up after `retries` attempts with the last failure", async (t) => {
    const a = await startFilesServer(t);
    const local = join(tempDir(t), "small.bin");
    await makeSparseFile(local, 1 * MiB);
    let opened = 0;
    const waits: number[] = [];
    const failure = await putFileReconnecting(
      async () => {
        opened += 1;
        const conn = await loggedIn(a.url);
        conn.destroy();
        return conn;
      },
      local,
      "small.bin",
      { retries: 3, backoff: 5, onRetry: ({ delayMs }) => waits.push(delayMs) },
    ).catch((err: unknown) => err);
    assert.ok(failure instanceof WharfError);
    assert.equal(opened, 4);
    assert.deepEqual(waits, [5, 10, 20]);
  });

  test("a failure that a new connection cannot mend is not retried", async (t) => {
    const a = await startFilesServer(t, { users: { alice: { quota: 1000 } } });
    const local = join(tempDir(t), "small.bin");
    await makeSparseFile(local, 1 * MiB);
    let retried = 0;
    const conn = await loggedIn(a.url);
    t.after(() => conn.destroy());
    const failure = await putFileReconnecting(async () => conn, local, "small.bin", { onRetry: () => (retried += 1) }).catch((err: unknown) => err);
    assert.equal((failure as WharfError).code, "E_QUOTA");
    assert.equal(retried, 0);
  });
});
