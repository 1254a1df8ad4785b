import assert from "node:assert/strict";
import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { COMPARE_MAX_ENTRIES, FileRequest, type CompareGroup, type FileEntry } from "../../../src/services/files/index.js";
import { sameSizeAndTime } from "../../../src/services/files/quick-check.js";
import { tempDir } from "../../helpers/cli.js";
import { codeOf, jsonLines, session, startFilesServer, startFilesServerWithout, wharfAs } from "./helpers.js";

/*
 * `files.compare` (issue 15): rsync's quick check done by the server. Checked case by case, against the listing
 * the client compared with before (a property test: the same answer for random trees and random local views of
 * them), against hostile bodies, and end to end: `put -r` asks it and lists nothing, and against a server without
 * it falls back to the listing.
 */

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);

function placeFile(path: string, size: number, mtimeMs: number): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, Buffer.alloc(size, 7));
  utimesSync(path, mtimeMs / 1000, mtimeMs / 1000);
}

describe("files.compare: which entries the server lacks (issue 15)", () => {
  test("names what is missing, of another size or time, of another kind, or out of reach, and nothing else", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const home = join(dataDir, "homes", "alice");
    placeFile(join(home, "b", "same.txt"), 10, T0);
    placeFile(join(home, "b", "size.txt"), 10, T0);
    placeFile(join(home, "b", "time.txt"), 10, T0);
    placeFile(join(home, "b", "sub", "deep.txt"), 3, T0 + 0.25); // a fraction of a ms: still the same time
    mkdirSync(join(home, "b", "dir-not-file"));
    placeFile(join(home, "b", "file-not-dir"), 1, T0);
    placeFile(join(home, "elsewhere.txt"), 5, T0);
    symlinkSync(join(home, "elsewhere.txt"), join(home, "b", "link-in.txt"));
    const outside = tempDir(t);
    placeFile(join(outside, "secret.txt"), 5, T0);
    symlinkSync(join(outside, "secret.txt"), join(home, "b", "link-out.txt"));

    const groups: CompareGroup[] = [
      ["", ["same.txt", 10, T0], ["size.txt", 11, T0], ["time.txt", 10, T0 + 5], ["missing.txt", 1, T0], "sub"],
      ["sub", ["deep.txt", 3, T0]],
      ["", ["dir-not-file", 0, T0], "file-not-dir", ["link-in.txt", 5, T0], ["link-out.txt", 5, T0], "gone"],
      ["gone", ["x", 1, T0]],
      ["", ["same.txt", 10, T0 + 0.9]],
    ];
    assert.deepEqual(await files.compare("b", groups), { baseIsDir: true, differ: [1, 2, 3, 6, 7, 9, 10, 11] });
    // The home itself, and the reserved name there: never held as sent.
    assert.deepEqual(await files.compare("", [["", ".wharf", ["elsewhere.txt", 5, T0]]]), { baseIsDir: true, differ: [0] });
    // A base that is missing, or a file: every entry differs, and it is no error.
    assert.deepEqual(await files.compare("nope/deeper", [["", ["a", 1, T0], "d"]]), { baseIsDir: false, differ: [0, 1] });
    assert.deepEqual(await files.compare("elsewhere.txt", [["", ["a", 1, T0]]]), { baseIsDir: false, differ: [0] });
    assert.deepEqual(await files.compare("b", []), { baseIsDir: true, differ: [] });
    assert.equal(await codeOf(files.compare("../up", [])), "E_PATH");
  });

  test("answers as the listing's quick check does, for random trees and random local views of them", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const home = join(dataDir, "homes", "alice");
    const name = fc.constantFrom("a", "b", "c", "d.txt", "e e", "ü");
    const entry = fc.record({ folder: fc.constantFrom("", "a", "a/b", "c"), name, dir: fc.boolean(), size: fc.nat(3), mtime: fc.constantFrom(T0, T0 + 0.4, T0 + 1, T0 + 2000) });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 12 }), fc.array(entry, { maxLength: 12 }), async (server, local) => {
        const base = `r${round++}`;
        for (const e of server) {
          const path = join(home, base, e.folder, e.name);
          try {
            if (e.dir) mkdirSync(path, { recursive: true });
            else placeFile(path, e.size, e.mtime);
          } catch {
            // a name taken by the other kind already: the server's tree is whatever landed
          }
        }
        const listed = new Map<string, FileEntry>((await files.list(base, { recursive: true }).catch(() => [])).map((x): [string, FileEntry] => [x.path, x]));
        const groups: CompareGroup[] = local.map((e) => [e.folder, e.dir ? e.name : [e.name, e.size, e.mtime]]);
        const expected = local.flatMap((e, i) => {
          const there = listed.get([base, e.folder, e.name].filter(Boolean).join("/"));
          const same = e.dir ? there?.type === "dir" : sameSizeAndTime({ path: "", size: e.size, mtimeMs: e.mtime }, there);
          return same ? [] : [i];
        });
        assert.deepEqual(await files.compare(base, groups), { baseIsDir: server.length > 0, differ: expected });
      }),
      { numRuns: 40 },
    );
  });

  test("a malformed body is refused with E_INVALID_PARAMS, and the connection goes on", async (t) => {
    const { url } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const bodies: unknown[] = [
      "not json",
      { groups: [] },
      [[]],
      [[1]],
      [["../x", "a"]],
      [["/abs", "a"]],
      [["", "a/b"]],
      [["", ".."]],
      [["", ""]],
      [["", "nul\u0000"]],
      [["", ["a", -1, T0]]],
      [["", ["a", 1.5, T0]]],
      [["", ["a", 1, "yesterday"]]],
      [["", ["a", 1]]],
      [["", ["a", 1, T0, "extra"]]],
      [["", null]],
      [["a".repeat(5000)]],
      Array.from({ length: COMPARE_MAX_ENTRIES + 1 }, () => [""]),
    ];
    for (const body of bodies) {
      const bytes = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
      assert.equal(await codeOf(conn.request(FileRequest.COMPARE, { path: "" }, bytes)), "E_INVALID_PARAMS", JSON.stringify(body).slice(0, 80));
    }
    assert.equal(await codeOf(conn.request(FileRequest.COMPARE, { path: 5 }, Buffer.from("[]"))), "E_INVALID_PARAMS");
    assert.deepEqual(await files.compare("", [["", ["a", 1, T0]]]), { baseIsDir: true, differ: [0] });
  });

  test("put -r asks the server to compare while it walks, and lists nothing; a server without files.compare gets a listing", async (t) => {
    const total = [...Array(1200).keys()].reduce((sum, i) => sum + (i % 7), 0);
    for (const without of [[], [FileRequest.COMPARE]]) {
      const root = join(tempDir(t), "tree");
      for (let i = 0; i < 1200; i += 1) placeFile(join(root, `d${i % 5}`, `s${i % 3}`, `f${i}`), i % 7, T0 + i);
      mkdirSync(join(root, "empty"));
      const { url, served } = await startFilesServerWithout(t, without);
      const first = await wharfAs(url, "alice", ["put", "-r", root, "up", "--json"]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(jsonLines(first.stdout).at(-1), { summary: true, dryRun: false, files: 1200, sent: total, skipped: 0, notSent: 0 });
      served.length = 0;
      writeFileSync(join(root, "d1", "s1", "f1"), "changed");
      mkdirSync(join(root, "empty", "inner"));
      const again = await wharfAs(url, "alice", ["put", "-r", root, "up", "--json"]);
      assert.equal(again.code, 0, again.stderr);
      const lines = jsonLines(again.stdout);
      assert.deepEqual(lines.slice(0, -1).map((line) => line.path), ["up/d1/s1/f1"]);
      assert.deepEqual(lines.at(-1), { summary: true, dryRun: false, files: 1, sent: 7, skipped: 1199, notSent: total - 1 });
      const asked = new Set(served);
      if (without.length === 0) {
        // 1,221 entries: three requests of at most 512, whenever the walk and the login meet.
        assert.equal(served.filter((type) => type === FileRequest.COMPARE).length, 3);
        assert.equal(asked.has(FileRequest.LIST), false, "no listing");
      } else assert.ok(asked.has(FileRequest.LIST), "the listing, instead");
      assert.deepEqual(served.filter((type) => type === FileRequest.MKDIR), [FileRequest.MKDIR], "empty/inner made, nothing else");
    }
  });
});
