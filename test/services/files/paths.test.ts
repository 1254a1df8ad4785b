import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FileRequest, normalizeRemotePath } from "../../../src/services/files/index.js";
import { tempDir } from "../../helpers/cli.js";
import { codeOf, session, startFilesServer } from "./helpers.js";

describe("remote paths", () => {
  test("normalise inside the home; absolute, NUL, reserved and escaping paths are E_PATH", () => {
    assert.equal(normalizeRemotePath(""), "");
    assert.equal(normalizeRemotePath("."), "");
    assert.equal(normalizeRemotePath("a//b/./c/"), "a/b/c");
    assert.equal(normalizeRemotePath("a/../b"), "b");
    assert.equal(normalizeRemotePath("a/b/../../c"), "c");
    assert.equal(normalizeRemotePath("..."), "...", "three dots is a name");
    assert.equal(normalizeRemotePath("~/x"), "~/x", "no shell expansion: ~ is a name");
    for (const bad of ["..", "../x", "a/../../x", "a/b/../../../x", "/etc/passwd", "/", "x\0y", ".wharf", "a/.wharf/b", `${"n".repeat(256)}`]) {
      assert.throws(() => normalizeRemotePath(bad), { code: "E_PATH" }, JSON.stringify(bad));
    }
  });

  test("every escape form is refused with E_PATH by every request, and nothing outside the home is read or written", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const outside = tempDir(t, "wharf-outside-");
    writeFileSync(join(outside, "secret.txt"), "outside the home");
    mkdirSync(join(outside, "dir"));
    await files.mkdir("inside");
    const home = join(dataDir, "homes", "alice");
    symlinkSync(join(outside, "secret.txt"), join(home, "link-out")); // a file link pointing out
    symlinkSync(outside, join(home, "dir-out")); // a folder link pointing out
    symlinkSync("../../..", join(home, "inside", "up")); // relative, climbing out
    symlinkSync(join(home, "missing"), join(home, "dangling"));
    const local = join(tempDir(t), "local.txt");
    writeFileSync(local, "local bytes");
    const before = JSON.stringify([readdirSync(outside).sort(), readFileSync(join(outside, "secret.txt"), "utf8")]);

    const escapes = ["../x", "a/../../x", "/etc/passwd", "x\0y", ".wharf/partials", "link-out", "dir-out/secret.txt", "dir-out/new.txt", "inside/up/etc/passwd", "dangling"];
    for (const path of escapes) {
      const where = JSON.stringify(path);
      assert.equal(await codeOf(files.get(path, join(tempDir(t), "got"))), "E_PATH", `get ${where}`);
      assert.equal(await codeOf(files.put(local, path)), "E_PATH", `put ${where}`);
      assert.equal(await codeOf(files.stat(path)), "E_PATH", `stat ${where}`);
      if (!["link-out", "dangling"].includes(path)) {
        // rm and mv act on a final symlink itself, not on what it points to (see below)
        assert.equal(await codeOf(files.rm(path, { recursive: true })), "E_PATH", `rm ${where}`);
        assert.equal(await codeOf(files.mv(path, "moved")), "E_PATH", `mv from ${where}`);
      }
      assert.equal(await codeOf(files.mv("inside", path)), "E_PATH", `mv to ${where}`);
      assert.equal(await codeOf(files.mkdir(path, { parents: true })), "E_PATH", `mkdir ${where}`);
    }
    assert.equal(await codeOf(files.list("dir-out")), "E_PATH");
    assert.equal(await codeOf(files.list("..")), "E_PATH");
    assert.equal(await codeOf(conn.request(FileRequest.GET, { path: "/etc/passwd" })), "E_PATH");
    // A symlink pointing outside cannot be removed or moved through wharf either (it points out): E_PATH.
    assert.equal(await codeOf(files.rm("link-out")), "E_PATH");
    assert.equal(await codeOf(files.mv("link-out", "l2")), "E_PATH");
    // Listings leave out links that point outside.
    assert.deepEqual((await files.list("", { recursive: true })).map((e) => e.path), ["inside"]);

    assert.equal(JSON.stringify([readdirSync(outside).sort(), readFileSync(join(outside, "secret.txt"), "utf8")]), before, "nothing outside changed");
    assert.equal(statSync("/etc/passwd").isFile(), true);
  });

  test("symlinks that stay inside the home are followed", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const home = join(dataDir, "homes", "alice");
    await files.mkdir("real");
    const local = join(tempDir(t), "a.txt");
    writeFileSync(local, "through a link");
    await files.put(local, "real/a.txt");
    symlinkSync("real", join(home, "alias"));
    symlinkSync(join(home, "real", "a.txt"), join(home, "a-link"));
    assert.equal((await files.stat("alias/a.txt")).size, 14);
    assert.equal((await files.get("a-link", join(tempDir(t), "b.txt"))).size, 14);
    await files.put(local, "alias/b.txt");
    assert.equal(readFileSync(join(home, "real", "b.txt"), "utf8"), "through a link");
    assert.deepEqual((await files.list()).map((e) => `${e.type}:${e.name}`), ["file:a-link", "dir:alias", "dir:real"]);
    await files.rm("alias"); // removes the link, not the folder
    assert.equal((await files.stat("real/b.txt")).size, 14);
    // A symlink to the service's own folder is refused too.
    symlinkSync(join(home, ".wharf"), join(home, "sneaky"));
    assert.equal(await codeOf(files.list("sneaky")), "E_PATH");
  });
});
