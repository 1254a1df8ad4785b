import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runWharf, startServe, tempDir, WHARF_BIN } from "../../helpers/cli.js";
import { blake3Of, dataWithUsers, jsonLines, sha256Of, wharfAs } from "./helpers.js";

const PTY_RUN = new URL("../../../../test/helpers/pty_run.py", import.meta.url).pathname;

describe("wharf put/get/ls/rm/mkdir/mv", () => {
  test("put and get round-trip empty, small and multi-MiB files; --json reports path, size, hash, sent, resumedFrom, seconds; get --hash sha256 verifies with sha256", async (t) => {
    const data = await dataWithUsers(t);
    const serve = await startServe(t, ["--data", data, "--no-udp"]);
    const url = serve.url("tcp");
    const local = tempDir(t);
    const files: [string, Buffer][] = [
      ["empty", Buffer.alloc(0)],
      ["small.txt", Buffer.from("a small file\n")],
      ["multi.bin", randomBytes(12 * 1024 * 1024 + 3)],
    ];
    for (const [name, content] of files) {
      writeFileSync(join(local, name), content);
      const put = await wharfAs(url, "alice", ["put", join(local, name), `in/${name}`, "--json"]);
      assert.equal(put.code, 0, put.stderr);
      assert.equal(put.stderr, "", "no progress bar without a terminal");
      const [report] = jsonLines(put.stdout);
      assert.deepEqual(
        { path: report.path, size: report.size, hash: report.hash, sha256: report.sha256, resumedFrom: report.resumedFrom, sent: report.sent },
        { path: `in/${name}`, size: content.length, hash: blake3Of(content), sha256: undefined, resumedFrom: 0, sent: content.length },
      );
      assert.equal(typeof report.seconds, "number");
      assert.deepEqual(readFileSync(join(data, "homes", "alice", "in", name)), content);
      const get = await wharfAs(url, "alice", ["get", `in/${name}`, join(local, `${name}.back`), "--json"]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stderr, "");
      const [got] = jsonLines(get.stdout);
      assert.deepEqual({ path: got.path, size: got.size, hash: got.hash, resumedFrom: got.resumedFrom, sent: got.sent }, { path: `in/${name}`, size: content.length, hash: blake3Of(content), resumedFrom: 0, sent: content.length });
      assert.deepEqual(readFileSync(join(local, `${name}.back`)), content);
      // Asked for sha256, the server hashes the BLAKE3-stored file with sha256 as it sends it.
      const viaSha = await wharfAs(url, "alice", ["get", `in/${name}`, join(local, `${name}.sha`), "--json", "--hash", "sha256"]);
      assert.equal(viaSha.code, 0, viaSha.stderr);
      const [gotSha] = jsonLines(viaSha.stdout);
      assert.deepEqual([gotSha.hash, gotSha.sha256], [`sha256:${sha256Of(content)}`, sha256Of(content)]);
      assert.deepEqual(readFileSync(join(local, `${name}.sha`)), content);
    }
    const plain = await wharfAs(url, "alice", ["put", join(local, "small.txt")]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, new RegExp(`^put ${join(local, "small.txt")} -> small.txt: 13 B in [\\d.]+ s.*\\n  blake3 ${blake3Of("a small file\n").slice(7)}\\n$`));
    // A changed byte: a delta, and the summary says how little crossed.
    const multi = Buffer.from(files[2][1]);
    multi[5_000_000] ^= 0xff;
    writeFileSync(join(local, "multi.bin"), multi);
    const delta = await wharfAs(url, "alice", ["put", join(local, "multi.bin"), "in/multi.bin"]);
    assert.equal(delta.code, 0, delta.stderr);
    assert.match(delta.stdout, /^put .*multi\.bin -> in\/multi\.bin: 12\.0 MiB in [\d.]+ s, [^,]+, 64\.0 KiB of it sent \(the rest was there\)\n  blake3 /);
    assert.deepEqual(readFileSync(join(data, "homes", "alice", "in", "multi.bin")), multi);
  });

  test("ls, mkdir, mv and rm, in text and in JSON", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const local = join(tempDir(t), "a.txt");
    writeFileSync(local, "abc");
    const ok = async (args: string[]): Promise<string> => {
      const run = await wharfAs(url, "alice", args);
      assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
      return run.stdout;
    };
    assert.equal(await ok(["mkdir", "docs"]), "made docs/\n");
    assert.equal(await ok(["mkdir", "-p", "x/y", "--json"]), '{"path":"x/y"}\n');
    await ok(["put", local, "docs/"]); // into the folder: docs/a.txt
    assert.equal(await ok(["ls"]), "docs/\nx/\n");
    assert.equal(await ok(["ls", "docs"]), "a.txt\n");
    const long = await ok(["ls", "-l", "docs"]);
    assert.match(long, new RegExp(`^- 3 \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ ${blake3Of("abc")} a.txt\\n$`));
    const entries = jsonLines(await ok(["ls", "-R", "--json"]));
    assert.deepEqual(entries.map((e) => [e.path, e.type, e.size]), [["docs", "dir", 0], ["docs/a.txt", "file", 3], ["x", "dir", 0], ["x/y", "dir", 0]]);
    assert.equal(await ok(["mv", "docs/a.txt", "x/y"]), "moved docs/a.txt -> x/y/a.txt\n");
    assert.equal(await ok(["rm", "docs"]), "removed docs\n");
    const notEmpty = await wharfAs(url, "alice", ["rm", "x"]);
    assert.equal(notEmpty.code, 1);
    assert.equal(notEmpty.stderr, "wharf: E_NOT_EMPTY: x: directory not empty\n");
    assert.equal(await ok(["rm", "-r", "x", "--json"]), '{"path":"x","files":1}\n');
    assert.equal(await ok(["ls"]), "");
  });

  test("path escapes, a wrong password, no password, a missing file and a quota each fail with one line and a non-zero exit", async (t) => {
    const data = await dataWithUsers(t, { alice: {}, dora: { quota: 1000 } });
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const local = join(tempDir(t), "f.bin");
    writeFileSync(local, randomBytes(2000));
    const cases: [string, string[], RegExp][] = [
      ["alice", ["put", local, "../f.bin"], /^wharf: E_PATH: "\.\.\/f\.bin": leaves your home\n$/],
      ["alice", ["put", local, "a/../../f.bin"], /^wharf: E_PATH: .*leaves your home\n$/],
      ["alice", ["get", "/etc/passwd", join(tempDir(t), "p")], /^wharf: E_PATH: "\/etc\/passwd": absolute paths are not allowed.*\n$/],
      ["alice", ["ls", "../bob"], /^wharf: E_PATH: .*\n$/],
      ["alice", ["rm", "../../users.json"], /^wharf: E_PATH: .*\n$/],
      ["alice", ["mv", "x", "../x"], /^wharf: E_PATH: .*\n$/],
      ["alice", ["mkdir", ".wharf/x"], /^wharf: E_PATH: .*reserved name\n$/],
      ["alice", ["get", "nothing.txt"], /^wharf: E_NOT_FOUND: nothing\.txt: no such file or directory\n$/],
      ["alice", ["put", join(tempDir(t), "absent")], /^wharf: E_NOT_FOUND: .*absent: no such local file\n$/],
      ["dora", ["put", local], /^wharf: E_QUOTA: f\.bin: 1\.95 KiB would exceed your quota \(0 B of 1000 B used\)\n$/],
    ];
    for (const [user, args, expected] of cases) {
      const run = await wharfAs(url, user, args);
      assert.equal(run.code, 1, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, expected, args.join(" "));
    }
    const wrong = await wharfAs(url, "alice", ["ls"], { env: { WHARF_PASSWORD: "not it" } });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, "wharf: E_AUTH: wrong user name or password\n");
    const noPassword = await runWharf(["ls", "--server", url, "--user", "alice"], { env: { WHARF_PASSWORD: undefined } });
    assert.equal(noPassword.code, 1);
    assert.equal(noPassword.stderr, "wharf: E_AUTH: no password: run wharf login, set WHARF_PASSWORD, or run on a terminal to be asked\n");
    const dir = await wharfAs(url, "alice", ["put", tempDir(t)]);
    assert.equal(dir.code, 2);
    assert.match(dir.stderr, /^wharf: E_USAGE: .* is a folder: use put -r\n$/);
    assert.equal(readdirSync(join(data, "homes", "alice")).filter((n) => n !== ".wharf").length, 0, "nothing was stored");
  });

  test("put -r and get -r copy a folder tree both ways", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const root = tempDir(t);
    const tree = join(root, "photos");
    mkdirSync(join(tree, "2024", "june"), { recursive: true });
    mkdirSync(join(tree, "empty"));
    const contents: Record<string, Buffer> = { "a.jpg": randomBytes(3000), "2024/b.jpg": randomBytes(70_000), "2024/june/c.jpg": Buffer.alloc(0) };
    for (const [rel, content] of Object.entries(contents)) writeFileSync(join(tree, rel), content);
    const put = await wharfAs(url, "alice", ["put", "-r", tree, "backup/photos", "--json"]);
    assert.equal(put.code, 0, put.stderr);
    const lines = jsonLines(put.stdout);
    assert.deepEqual(lines.slice(0, -1).map((r) => r.path).sort(), ["backup/photos/2024/b.jpg", "backup/photos/2024/june/c.jpg", "backup/photos/a.jpg"]);
    assert.deepEqual(lines.at(-1), { summary: true, dryRun: false, files: 3, sent: 73_000, skipped: 0, notSent: 0 }, "a tree transfer ends with its summary");
    const back = join(root, "restored");
    const get = await wharfAs(url, "alice", ["get", "-r", "backup/photos", back, "--json"]);
    assert.equal(get.code, 0, get.stderr);
    for (const [rel, content] of Object.entries(contents)) assert.deepEqual(readFileSync(join(back, rel)), content, rel);
    assert.deepEqual(readdirSync(join(back, "empty")), []);
    const noFlag = await wharfAs(url, "alice", ["get", "backup"]);
    assert.equal(noFlag.code, 1);
    assert.equal(noFlag.stderr, "wharf: E_IS_DIR: backup is a folder: use get -r\n");
  });

  test("two puts to one name at once: each succeeds or gets E_BUSY, and the stored file is one of them, whole", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const local = tempDir(t);
    const contents = [randomBytes(24 * 1024 * 1024), randomBytes(20 * 1024 * 1024)];
    contents.forEach((content, i) => writeFileSync(join(local, `v${i}`), content));
    const runs = await Promise.all(contents.map((_, i) => wharfAs(url, "alice", ["put", join(local, `v${i}`), "same.bin", "--json"])));
    const winners = runs.flatMap((run, i) => (run.code === 0 ? [i] : []));
    // With --json a failure is one JSON object on stderr (issue 12).
    for (const run of runs) {
      if (run.code !== 0) assert.deepEqual(JSON.parse(run.stderr).error, { code: "E_BUSY", message: "same.bin: another upload to this name is in progress", data: { path: "same.bin" } });
    }
    assert.ok(winners.length >= 1, runs.map((r) => r.stderr).join(""));
    const stored = readFileSync(join(data, "homes", "alice", "same.bin"));
    assert.ok(winners.some((i) => stored.equals(contents[i])));
  });

  test("on a terminal, put and get draw a progress bar with bytes, rate and ETA on stderr, and the password is asked for", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const local = join(tempDir(t), "bar.bin");
    writeFileSync(local, randomBytes(8 * 1024 * 1024));
    const env = { ...process.env, WHARF_PASSWORD: "pw" };
    for (const args of [["put", local, "bar.bin"], ["get", "bar.bin", `${local}.back`]]) {
      const run = spawnSync("python3", [PTY_RUN, "[]", process.execPath, WHARF_BIN, ...args, "--server", url, "--user", "alice"], { encoding: "utf8", env, timeout: 60_000 });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, new RegExp(`${args[0]} bar\\.bin \\[[#-]+\\] 100% 8\\.00 MiB/8\\.00 MiB [\\d.]+ [KMG]?i?B/s ETA \\d\\d:\\d\\d`));
      assert.match(run.stdout, /blake3 [0-9a-f]{64}/);
    }
    assert.deepEqual(readFileSync(`${local}.back`), readFileSync(local));
    // Without WHARF_PASSWORD, a terminal is asked for the password, which is not echoed.
    const { WHARF_PASSWORD: _omitted, ...noPassword } = env;
    const asked = spawnSync("python3", [PTY_RUN, JSON.stringify([["Password for alice", "pw"]]), process.execPath, WHARF_BIN, "ls", "-l", "--server", url, "--user", "alice"], {
      encoding: "utf8",
      env: noPassword,
      timeout: 60_000,
    });
    assert.equal(asked.status, 0, asked.stdout + asked.stderr);
    assert.match(asked.stdout, /Password for alice: /);
    assert.match(asked.stdout, /bar\.bin\r?\n/);
    assert.doesNotMatch(asked.stdout, /: pw/, "the password is not echoed");
  });
});
