import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { startServe, tempDir } from "../../helpers/cli.js";
import { dataWithUsers, jsonLines, wharfAs } from "./helpers.js";

/** A small tree: a/1.txt, a/2.txt, b/c/3.bin, top.txt. */
function makeTree(root: string): void {
  mkdirSync(join(root, "a"), { recursive: true });
  mkdirSync(join(root, "b", "c"), { recursive: true });
  writeFileSync(join(root, "a", "1.txt"), "one\n");
  writeFileSync(join(root, "a", "2.txt"), "two\n");
  writeFileSync(join(root, "b", "c", "3.bin"), Buffer.alloc(70_000, 3));
  writeFileSync(join(root, "top.txt"), "top\n");
}

async function ok(url: string, args: string[]): Promise<Record<string, unknown>[]> {
  const run = await wharfAs(url, "alice", [...args, "--json"]);
  assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
  return jsonLines(run.stdout);
}

function summaryOf(lines: Record<string, unknown>[]): Record<string, unknown> {
  const last = lines.at(-1)!;
  assert.equal(last.summary, true);
  return { files: last.files, sent: last.sent, skipped: last.skipped, notSent: last.notSent };
}

describe("quick check: put -r and get -r skip what is already there (issue 15)", () => {
  test("a second put -r sends nothing; a changed size is sent; same size and mtime is skipped unless --checksum", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const root = join(tempDir(t), "tree");
    makeTree(root);
    const total = 4 + 4 + 70_000 + 4;
    assert.deepEqual(summaryOf(await ok(url, ["put", "-r", root, "t"])), { files: 4, sent: total, skipped: 0, notSent: 0 });
    const again = await ok(url, ["put", "-r", root, "t"]);
    assert.equal(again.length, 1, "only the summary: no file was sent");
    assert.deepEqual(summaryOf(again), { files: 0, sent: 0, skipped: 4, notSent: total });

    writeFileSync(join(root, "a", "1.txt"), "one, longer\n");
    // Same size, same mtime, other content: what rsync's quick check also misses; --checksum catches it.
    const before = statSync(join(root, "a", "2.txt"));
    writeFileSync(join(root, "a", "2.txt"), "TWO\n");
    utimesSync(join(root, "a", "2.txt"), before.atime, before.mtime);
    const third = await ok(url, ["put", "-r", root, "t"]);
    assert.deepEqual(third.slice(0, -1).map((line) => line.path), ["t/a/1.txt"]);
    assert.deepEqual(summaryOf(third), { files: 1, sent: 12, skipped: 3, notSent: 4 + 70_000 + 4 });
    assert.equal(readFileSync(join(data, "homes", "alice", "t", "a", "2.txt"), "utf8"), "two\n");
    const checked = await ok(url, ["put", "-r", root, "t", "--checksum"]);
    assert.deepEqual(checked.slice(0, -1).map((line) => line.path), ["t/a/2.txt"]);
    assert.equal(readFileSync(join(data, "homes", "alice", "t", "a", "2.txt"), "utf8"), "TWO\n");
  });

  test("--dry-run lists what would be sent and stores nothing", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const root = join(tempDir(t), "tree");
    makeTree(root);
    const dry = await ok(url, ["put", "-r", root, "t", "--dry-run"]);
    assert.deepEqual(dry.slice(0, -1).map((line) => [line.path, line.size, line.dryRun]), [
      ["t/a/1.txt", 4, true], ["t/a/2.txt", 4, true], ["t/b/c/3.bin", 70_000, true], ["t/top.txt", 4, true],
    ]);
    assert.equal(existsSync(join(data, "homes", "alice", "t")), false, "nothing was made or stored");
    await ok(url, ["put", "-r", root, "t"]);
    writeFileSync(join(root, "top.txt"), "top, changed\n");
    const text = await wharfAs(url, "alice", ["put", "-r", root, "t", "--dry-run"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^would put .*top\.txt -> t\/top\.txt: 13 B\nwould put: 1 files \(13 B sent\), 3 already there; .* not sent\n$/);
    assert.equal(readFileSync(join(data, "homes", "alice", "t", "top.txt"), "utf8"), "top\n");
  });

  test("a second get -r fetches nothing; a changed local file is fetched again; --checksum compares content", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const dir = tempDir(t);
    makeTree(join(dir, "tree"));
    await ok(url, ["put", "-r", join(dir, "tree"), "t"]);
    const back = `${join(dir, "back")}/`; // into it, as t/, both times
    mkdirSync(back); // like cp, get makes the folder it copies into, not that folder's missing parents
    assert.deepEqual(summaryOf(await ok(url, ["get", "-r", "t", back])), { files: 4, sent: 70_012, skipped: 0, notSent: 0 });
    const again = await ok(url, ["get", "-r", "t", back]);
    assert.deepEqual(summaryOf(again), { files: 0, sent: 0, skipped: 4, notSent: 70_012 });
    const local = join(back, "t", "b", "c", "3.bin");
    const before = statSync(local);
    writeFileSync(local, Buffer.alloc(70_000, 9));
    utimesSync(local, before.atime, before.mtime);
    assert.deepEqual(summaryOf(await ok(url, ["get", "-r", "t", back])).skipped, 4, "size and mtime match: skipped");
    const checked = await ok(url, ["get", "-r", "t", back, "--checksum"]);
    assert.deepEqual(checked.slice(0, -1).map((line) => line.path), ["t/b/c/3.bin"]);
    assert.deepEqual(readFileSync(local), Buffer.alloc(70_000, 3));
    const dry = await ok(url, ["get", "-r", "t", join(dir, "fresh"), "--dry-run"]);
    assert.equal(dry.length, 5);
    assert.equal(existsSync(join(dir, "fresh")), false);
  });
});
