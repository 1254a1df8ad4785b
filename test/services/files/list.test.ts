import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "../../helpers/cli.js";
import { session, startFilesServer } from "./helpers.js";

describe("files.list: the listing put -r compares against (issue 15)", () => {
  test("a recursive listing of 1,300 files in pages gives every entry in name order, sizes and whole-ms mtimes, without .wharf", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    await files.list(""); // the home and its .wharf exist from the first request on
    const home = join(dataDir, "homes", "alice");
    mkdirSync(join(home, "big"), { recursive: true });
    mkdirSync(join(home, "small", "inner"), { recursive: true });
    // More than one synchronous slice (128) and more than one page (1000) in a single folder.
    for (let i = 0; i < 1300; i += 1) writeFileSync(join(home, "big", `f${String(i).padStart(4, "0")}`), Buffer.alloc(i % 17));
    writeFileSync(join(home, "small", "inner", "x"), "xyz");
    utimesSync(join(home, "small", "inner", "x"), 1_700_000_000, 1_700_000_000.4567);
    const listing = await files.list("", { recursive: true });
    assert.equal(listing.length, 1 + 1300 + 3);
    assert.deepEqual(listing.slice(0, 3).map((e) => `${e.type}:${e.path}`), ["dir:big", "file:big/f0000", "file:big/f0001"]);
    assert.deepEqual(listing.slice(-3).map((e) => `${e.type}:${e.path}:${e.size}`), ["dir:small:0", "dir:small/inner:0", "file:small/inner/x:3"]);
    assert.deepEqual(listing.slice(1, 1301).map((e) => e.size), Array.from({ length: 1300 }, (_, i) => i % 17));
    assert.equal(listing.at(-1)!.mtime, 1_700_000_000_457);
    assert.ok(!listing.some((e) => e.path.startsWith(".wharf")), "the service's own folder is not listed");
  });

  test("a symlink inside the home lists as what it points to (not descended into); one pointing outside is left out", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    await files.mkdir("d");
    const home = join(dataDir, "homes", "alice");
    writeFileSync(join(home, "d", "f"), "four");
    const outside = tempDir(t);
    writeFileSync(join(outside, "secret"), "no");
    symlinkSync(join(home, "d"), join(home, "link-dir"));
    symlinkSync(join(home, "d", "f"), join(home, "link-file"));
    symlinkSync(join(outside, "secret"), join(home, "link-out"));
    symlinkSync(join(home, "gone"), join(home, "link-dangling"));
    const listing = await files.list("", { recursive: true });
    assert.deepEqual(listing.map((e) => `${e.type}:${e.path}:${e.size}`), ["dir:d:0", "file:d/f:4", "dir:link-dir:0", "file:link-file:4"]);
  });
});
