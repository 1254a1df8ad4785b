import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { joinRemote, walkLocalTree } from "../../src/cli/local-tree.js";
import { tempDir } from "../helpers/cli.js";

describe("walkLocalTree(): the local side of put -r and get -r (issue 15)", () => {
  test("lists every entry in name order, a folder before its contents, with sizes, mtimes and remote paths", async (t) => {
    const root = tempDir(t);
    mkdirSync(join(root, "b", "c"), { recursive: true });
    mkdirSync(join(root, "a"));
    writeFileSync(join(root, "z.txt"), "zz");
    writeFileSync(join(root, "a", "2.txt"), "two");
    writeFileSync(join(root, "a", "10.txt"), "ten!");
    writeFileSync(join(root, "b", "c", "deep.bin"), Buffer.alloc(70_000));
    utimesSync(join(root, "z.txt"), 1_700_000_000, 1_700_000_000.25);
    const entries = await walkLocalTree(root, "up/there");
    assert.deepEqual(
      entries.map((e) => `${e.kind}:${e.remote}:${e.size}`),
      ["dir:up/there/a:0", "file:up/there/a/10.txt:4", "file:up/there/a/2.txt:3", "dir:up/there/b:0", "dir:up/there/b/c:0", "file:up/there/b/c/deep.bin:70000", "file:up/there/z.txt:2"],
    );
    const z = entries.find((e) => e.remote.endsWith("z.txt"))!;
    assert.equal(z.path, join(root, "z.txt"));
    assert.equal(Math.round(z.mtimeMs), 1_700_000_000_250);
  });

  test("names entries below the home without a leading ./ or /, and reports symlinks as other, not followed", async (t) => {
    const root = tempDir(t);
    mkdirSync(join(root, "real"));
    writeFileSync(join(root, "real", "f"), "f");
    symlinkSync(join(root, "real"), join(root, "linked-dir"));
    symlinkSync(join(root, "real", "f"), join(root, "linked-file"));
    const entries = await walkLocalTree(root, "");
    assert.deepEqual(
      entries.map((e) => `${e.kind}:${e.remote}`),
      ["other:linked-dir", "other:linked-file", "dir:real", "file:real/f"],
    );
  });

  test("a folder that does not exist walks as empty; a folder of 1,000 files comes back whole", async (t) => {
    const root = tempDir(t);
    assert.deepEqual(await walkLocalTree(join(root, "missing"), "x"), []);
    for (let i = 0; i < 1000; i += 1) writeFileSync(join(root, `f${String(i).padStart(4, "0")}`), Buffer.alloc(i));
    const entries = await walkLocalTree(root, "x");
    assert.equal(entries.length, 1000);
    assert.deepEqual(entries.map((e) => e.size), Array.from({ length: 1000 }, (_, i) => i));
  });

  test("stops at the next folder once its signal is aborted, with the signal's reason", async (t) => {
    const root = tempDir(t);
    for (let i = 0; i < 50; i += 1) mkdirSync(join(root, `d${i}`, "inner"), { recursive: true });
    const stop = new AbortController();
    const walk = walkLocalTree(root, "x", stop.signal);
    stop.abort(new Error("login failed"));
    await assert.rejects(walk, /login failed/);
    const whole = await walkLocalTree(root, "x", new AbortController().signal);
    assert.equal(whole.length, 100);
  });

  test("reports its entries in runs that cover them in order, each run inside the folder it names", async (t) => {
    const root = tempDir(t);
    for (let i = 0; i < 700; i += 1) writeFileSync(join(root, `f${String(i).padStart(3, "0")}`), "x");
    for (const sub of ["a/b", "a/c", "m", "zz/y"]) mkdirSync(join(root, sub), { recursive: true });
    writeFileSync(join(root, "a", "b", "inner.txt"), "in");
    writeFileSync(join(root, "a", "k.txt"), "k");
    symlinkSync(join(root, "a"), join(root, "a", "link"));
    const runs: [string, number, number][] = [];
    const entries = await walkLocalTree(root, "up", undefined, (folder, all, start, end) => {
      assert.ok(all.length >= end, "the run is in the array already");
      runs.push([folder, start, end]);
    });
    let next = 0;
    for (const [folder, start, end] of runs) {
      assert.equal(start, next, "runs follow each other");
      assert.ok(end > start);
      for (const entry of entries.slice(start, end)) assert.equal(entry.remote, ["up", folder, entry.name].filter(Boolean).join("/"));
      next = end;
    }
    assert.equal(next, entries.length, "and cover every entry");
    // A run ends at each subfolder (the folder with it) and at the folder's end; empty folders make none.
    assert.deepEqual(runs.map(([folder]) => folder), ["", "a", "a/b", "a", "a", "", "", "zz"]);
  });

  test("joinRemote() joins as the server spells paths", () => {
    assert.equal(joinRemote("", "a"), "a");
    assert.equal(joinRemote(".", "a"), "a");
    assert.equal(joinRemote("x/y", "a"), "x/y/a");
  });
});
