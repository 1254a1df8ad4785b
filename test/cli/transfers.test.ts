import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { WHARF_BIN, isolatedConfigHome, runWharf, startServe, tempDir } from "../helpers/cli.js";
import { dataWithUsers, jsonLines, wharfAs } from "../services/files/helpers.js";

describe("transfers as scp and rsync do them", () => {
  test("get into a folder that does not exist fails like cp and creates nothing", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const dir = tempDir(t);
    writeFileSync(join(dir, "f.txt"), "hello\n");
    assert.equal((await wharfAs(url, "alice", ["put", join(dir, "f.txt"), "f.txt"])).code, 0);
    const target = join(dir, "no", "such", "f.txt");
    const run = await wharfAs(url, "alice", ["get", "f.txt", target]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `wharf: E_NOT_FOUND: ${target}: no such local folder ${join(dir, "no", "such")}\n`);
    assert.equal(existsSync(join(dir, "no")), false, "no parent folder was made");
    const tree = await wharfAs(url, "alice", ["get", "-r", "", join(dir, "missing", "home")]);
    assert.equal(tree.code, 1);
    assert.equal(existsSync(join(dir, "missing")), false);
  });

  test("a downloaded file gets 0666 & ~umask, as cp gives", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const dir = tempDir(t);
    writeFileSync(join(dir, "f.txt"), "x");
    assert.equal((await wharfAs(url, "alice", ["put", join(dir, "f.txt"), "f.txt"])).code, 0);
    for (const [mask, mode] of [["022", 0o644], ["077", 0o600], ["002", 0o664]] as const) {
      const target = join(dir, `got-${mask}`);
      const child = spawn("sh", ["-c", `umask ${mask} && exec "$0" "$@"`, process.execPath, WHARF_BIN, "get", "f.txt", target, "--server", url, "--user", "alice"], {
        env: { ...process.env, WHARF_PASSWORD: "pw", XDG_CONFIG_HOME: isolatedConfigHome() },
        stdio: "ignore",
      });
      const code = await new Promise((resolve) => child.on("close", resolve));
      assert.equal(code, 0);
      assert.equal(statSync(target).mode & 0o777, mode, `umask ${mask}`);
    }
  });

  test("- is stdin for put and stdout for get", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const content = "line one\nline two\n".repeat(1000);
    const put = await runWharf(["put", "-", "notes/in.txt", "--server", url, "--user", "alice"], { input: content, env: { WHARF_PASSWORD: "pw" } });
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^put - -> notes\/in\.txt: 17\.6 KiB in /);
    assert.equal(readFileSync(join(data, "homes", "alice", "notes", "in.txt"), "utf8"), content);
    const get = await wharfAs(url, "alice", ["get", "notes/in.txt", "-"]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, content, "only the file's bytes on stdout");
    const noName = await runWharf(["put", "-", "--server", url, "--user", "alice"], { input: "x", env: { WHARF_PASSWORD: "pw" } });
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /^wharf: E_USAGE: put - reads standard input: name the remote file/);
  });

  test("put a b c dir/ sends several sources into a remote folder", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const dir = tempDir(t);
    for (const name of ["a", "b", "c"]) writeFileSync(join(dir, name), name.repeat(3));
    const run = await wharfAs(url, "alice", ["put", join(dir, "a"), join(dir, "b"), join(dir, "c"), "box/", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(jsonLines(run.stdout).map((line) => line.path), ["box/a", "box/b", "box/c"]);
    for (const name of ["a", "b", "c"]) assert.equal(readFileSync(join(data, "homes", "alice", "box", name), "utf8"), name.repeat(3));
    const notDir = await wharfAs(url, "alice", ["put", join(dir, "a"), join(dir, "b"), "box/a"]);
    assert.equal(notDir.code, 1);
    assert.match(notDir.stderr, /^wharf: E_NOT_DIR: box\/a: not a remote folder/);
  });

  test("people get human units (closing line, ls -lh, quota errors); --json keeps exact bytes and integer mtimes", async (t) => {
    const data = await dataWithUsers(t, { alice: {}, dora: { quota: 1000 } });
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const dir = tempDir(t);
    writeFileSync(join(dir, "six.txt"), "hello\n");
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(1536 * 1024, 1));
    const six = await wharfAs(url, "alice", ["put", join(dir, "six.txt"), "six.txt"]);
    assert.match(six.stdout, /^put .*six\.txt -> six\.txt: 6 B in \d+\.\d\d s, \d+ B\/s\n/, "the rate is rounded: no 352.89376415545104 B/s");
    assert.equal((await wharfAs(url, "alice", ["put", join(dir, "big.bin"), "big.bin"])).code, 0);
    const human = await wharfAs(url, "alice", ["ls", "-lh"]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^- 1\.50 MiB \S+Z (?:blake3|sha256):[0-9a-f]{64} big\.bin\n- {6}6 B /m);
    const exact = await wharfAs(url, "alice", ["ls", "-l"]);
    assert.match(exact.stdout, /^- 1572864 \S+Z (?:blake3|sha256):[0-9a-f]{64} big\.bin$/m);
    const json = jsonLines((await wharfAs(url, "alice", ["ls", "--json"])).stdout);
    assert.deepEqual(json.map((e) => e.size), [1572864, 6]);
    for (const entry of json) assert.ok(Number.isSafeInteger(entry.mtime), `integer mtime: ${entry.mtime}`);
    const quota = await wharfAs(url, "dora", ["put", join(dir, "big.bin"), "big.bin"]);
    assert.equal(quota.stderr, "wharf: E_QUOTA: big.bin: 1.50 MiB would exceed your quota (0 B of 1000 B used)\n");
    const quotaJson = await wharfAs(url, "dora", ["put", join(dir, "big.bin"), "big.bin", "--json"]);
    assert.deepEqual(JSON.parse(quotaJson.stderr).error.data, { quota: 1000, used: 0, needed: 1572864 });
  });

  test("SIGTERM on the server during an upload tells the client why (E_SHUTTING_DOWN), and the same command resumes", async (t) => {
    const data = await dataWithUsers(t);
    const serve = await startServe(t, ["--data", data, "--no-udp", "--shutdown-timeout", "0"]);
    const local = join(tempDir(t), "big.bin");
    writeFileSync(local, "");
    truncateSync(local, 256 * 1024 ** 2); // sparse: cheap to read, long enough to cut
    const partials = join(data, "homes", "alice", ".wharf", "partials");
    const running = wharfAs(serve.url("tcp"), "alice", ["put", local, "big.bin", "--retries", "0"]);
    const partialSize = (): number => {
      const part = existsSync(partials) ? readdirSync(partials).find((name) => name.endsWith(".part")) : undefined;
      return part === undefined ? 0 : statSync(join(partials, part)).size;
    };
    for (let i = 0; i < 400 && partialSize() === 0; i += 1) await sleep(25);
    assert.ok(partialSize() > 0, "the upload started");
    await serve.stop("SIGTERM");
    const cut = await running;
    assert.equal(cut.code, 1);
    assert.equal(cut.stderr, "wharf: E_SHUTTING_DOWN: the server is shutting down; run the same command again to resume\n");
    const kept = partialSize();
    assert.ok(kept > 0 && kept < 256 * 1024 ** 2);
    const again = await startServe(t, ["--data", data, "--no-udp"]);
    const resumed = await wharfAs(again.url("tcp"), "alice", ["put", local, "big.bin", "--json"], { timeout: 120_000 });
    assert.equal(resumed.code, 0, resumed.stderr);
    const [result] = jsonLines(resumed.stdout);
    assert.ok((result.resumedFrom as number) > 0, `resumed from ${result.resumedFrom}`);
    assert.equal(result.size, 256 * 1024 ** 2);
  });
});
