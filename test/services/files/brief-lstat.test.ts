import assert from "node:assert/strict";
import { lstatSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { briefLstat, briefLstatInto, briefLstatIsRaw, type BriefStat } from "../../../src/services/files/brief-lstat.js";
import { tempDir } from "../../helpers/cli.js";

/** What lstatSync says of `path`, in briefLstat's terms. */
function expected(path: string) {
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (info === undefined) return undefined;
  const kind = info.isFile() ? "file" : info.isDirectory() ? "dir" : info.isSymbolicLink() ? "symlink" : "other";
  return { kind, size: info.size, mtimeMs: info.mtimeMs };
}

describe("briefLstat(): kind, size and mtime without a Stats object (issue 15)", () => {
  test("on Node 20 on Linux the binding's lstat is used (the point of the module)", () => {
    const major = Number(process.versions.node.split(".")[0]);
    if (major === 20 && process.platform === "linux" && !process.execArgv.includes("--pending-deprecation")) assert.equal(briefLstatIsRaw(), true);
  });

  for (const raw of [true, false]) {
    test(`${raw ? "through the binding" : "through lstatSync"}: agrees with lstatSync on files, folders, symlinks and missing paths`, (t) => {
      if (raw && !briefLstatIsRaw()) return t.skip("the binding is not used on this Node");
      const root = tempDir(t);
      mkdirSync(join(root, "dir"));
      writeFileSync(join(root, "empty"), "");
      writeFileSync(join(root, "big"), Buffer.alloc(1_234_567));
      utimesSync(join(root, "big"), 1_700_000_000, 1_700_000_000.123456); // a sub-millisecond part survives
      symlinkSync(join(root, "big"), join(root, "link")); // not followed
      symlinkSync(join(root, "nowhere"), join(root, "dangling"));
      for (const name of ["dir", "empty", "big", "link", "dangling", "missing", "dir/missing"]) {
        const path = join(root, name);
        assert.deepEqual(briefLstat(path, raw), expected(path), name);
      }
      assert.equal(briefLstat(join(root, "big"), raw)!.size, 1_234_567);
      assert.equal(briefLstat(join(root, "link"), raw)!.kind, "symlink");
      assert.equal(briefLstat(join(root, "dir"), raw)!.kind, "dir");
      assert.equal(Math.round(briefLstat(join(root, "big"), raw)!.mtimeMs * 1000), 1_700_000_000_123_456);
      // briefLstatInto fills one object call after call, and leaves it as it was for a missing path.
      const into: BriefStat = { kind: "other", size: -1, mtimeMs: -1 };
      for (const name of ["dir", "big", "missing", "link", "empty"]) {
        const before = { ...into };
        const path = join(root, name);
        assert.equal(briefLstatInto(path, into, raw), expected(path) !== undefined, name);
        assert.deepEqual({ ...into }, expected(path) ?? before, name);
      }
    });

    test(`${raw ? "through the binding" : "through lstatSync"}: a unix socket is other`, async (t) => {
      if (raw && !briefLstatIsRaw()) return t.skip("the binding is not used on this Node");
      const path = join(tempDir(t), "sock");
      const server = createServer().listen(path);
      await once(server, "listening");
      try {
        assert.deepEqual(briefLstat(path, raw), expected(path));
        assert.equal(briefLstat(path, raw)!.kind, "other");
      } finally {
        server.close();
      }
    });

    test(`${raw ? "through the binding" : "through lstatSync"}: a path through a file throws ENOTDIR as lstatSync does`, (t) => {
      if (raw && !briefLstatIsRaw()) return t.skip("the binding is not used on this Node");
      const root = tempDir(t);
      writeFileSync(join(root, "file"), "x");
      assert.throws(() => briefLstat(join(root, "file", "below"), raw), (err: NodeJS.ErrnoException) => err.code === "ENOTDIR");
    });
  }
});
