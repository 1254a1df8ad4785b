import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { WharfError, type Connection } from "../../../src/client/index.js";
import { FileRequest } from "../../../src/services/files/index.js";
import { startServe, tempDir } from "../../helpers/cli.js";
import { blake3Of, codeOf, dataWithUsers, jsonLines, session, sha256Of, startFilesServer, startFilesServerWithout, wharfAs } from "./helpers.js";

/*
 * `files.put.file` (issue 15): a small file whole in one request. Checked against the begin/data/commit upload it
 * stands in for (same file, same record, same mtime), for the guarantees that upload keeps (integrity, the name's
 * lock, the quota), for the fallback against a server without it, and end to end in a `put -r` of many files.
 */

const KiB = 1024;

function putFileHeader(path: string, content: Buffer, mtime?: number): Record<string, unknown> {
  return { path, fileSize: content.length, hash: blake3Of(content), hashes: ["blake3", "sha256"], ...(mtime === undefined ? {} : { mtime }) };
}

/** A server with auth and files, except `files.put.file`: a server from before it. */
const startServerWithoutPutFile = (t: import("node:test").TestContext) => startFilesServerWithout(t, [FileRequest.PUT_FILE]);

describe("files.put.file: a small file in one request (issue 15)", () => {
  test("lands the same file, record and mtime as begin/data/commit, and leaves no partial, lock or stray record", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const home = join(dataDir, "homes", "alice");
    const content = randomBytes(5000);
    const mtime = Date.UTC(2020, 1, 2, 3, 4, 5, 678);
    const one = await conn.request(FileRequest.PUT_FILE, putFileHeader("one/a.bin", content, mtime), content);
    assert.deepEqual({ ...one.header, id: 0 }, { id: 0, ok: true, path: "one/a.bin", fileSize: 5000, hash: blake3Of(content), mtime });

    const begin = await conn.request(FileRequest.PUT_BEGIN, { path: "three/a.bin", fileSize: content.length, mtime, hashes: ["blake3", "sha256"] });
    await conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 0 }, content);
    const three = await conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, hash: blake3Of(content) });
    assert.deepEqual({ ...three.header, id: 0, path: "" }, { ...one.header, id: 0, path: "" });

    for (const path of ["one/a.bin", "three/a.bin"]) {
      assert.deepEqual(readFileSync(join(home, path)), content, path);
      assert.equal(Math.round(statSync(join(home, path)).mtimeMs), mtime, path);
      const entry = await files.stat(path, { hash: true, sha256: true });
      assert.deepEqual([entry.hash, entry.sha256, entry.mtime], [blake3Of(content), sha256Of(content), mtime], path);
    }
    // An empty file, and one replaced: the replaced file's record goes with it.
    const empty = Buffer.alloc(0);
    assert.equal((await conn.request(FileRequest.PUT_FILE, putFileHeader("empty", empty), empty)).header.fileSize, 0);
    assert.deepEqual(readFileSync(join(home, "empty")), empty);
    const other = randomBytes(100);
    await conn.request(FileRequest.PUT_FILE, putFileHeader("one/a.bin", other), other);
    assert.deepEqual(readFileSync(join(home, "one/a.bin")), other);
    assert.equal((await files.stat("one/a.bin", { hash: true })).hash, blake3Of(other));
    // An interrupted begin/data/commit upload of a name leaves its partial (bytes and description) for a resume;
    // a one-request put of the name lands the file whole and removes both.
    const cut = await conn.request(FileRequest.PUT_BEGIN, { path: "three/a.bin", fileSize: 10, stamp: "s", hashes: ["blake3"] });
    await conn.request(FileRequest.PUT_ABORT, { upload: cut.header.upload });
    assert.equal(readdirSync(join(home, ".wharf", "partials")).length, 2, "a .part and its .json");
    await conn.request(FileRequest.PUT_FILE, putFileHeader("three/a.bin", other), other);
    assert.deepEqual(readFileSync(join(home, "three/a.bin")), other);
    assert.deepEqual(readdirSync(join(home, ".wharf", "partials")), []);
    const inodes = ["one/a.bin", "three/a.bin", "empty"].map((path) => `${statSync(join(home, path)).ino}.json`).sort();
    assert.deepEqual(readdirSync(join(home, ".wharf", "meta")).sort(), inodes, "one record per stored file, none for the replaced one");
  });

  test("a body that is not what its hash names stores nothing (E_INTEGRITY); wrong sizes, folders and a busy name are refused", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn } = await session(t, url);
    const home = join(dataDir, "homes", "alice");
    const content = Buffer.from("the real content");
    const error = await conn.request(FileRequest.PUT_FILE, { ...putFileHeader("x.txt", content), hash: blake3Of("something else") }, content).catch((err: unknown) => err);
    assert.ok(error instanceof WharfError);
    assert.equal(error.code, "E_INTEGRITY");
    assert.deepEqual(error.data, { expected: blake3Of("something else"), actual: blake3Of(content) });
    // The body's size must be fileSize, and fileSize at most 1 MiB.
    await assert.rejects(conn.request(FileRequest.PUT_FILE, { ...putFileHeader("x.txt", content), fileSize: 3 }, content), { code: "E_INVALID_PARAMS", message: /body has 16 bytes/ });
    const big = Buffer.alloc(1024 * KiB + 1);
    await assert.rejects(conn.request(FileRequest.PUT_FILE, putFileHeader("big", big), big), { code: "E_INVALID_PARAMS", message: /fileSize/ });
    // A sha256 claim is checked with sha256.
    await assert.rejects(conn.request(FileRequest.PUT_FILE, { path: "s.txt", fileSize: content.length, hash: `sha256:${sha256Of("nope")}` }, content), { code: "E_INTEGRITY" });
    mkdirSync(join(home, "dir"));
    assert.equal(await codeOf(conn.request(FileRequest.PUT_FILE, putFileHeader("dir", content), content)), "E_IS_DIR");
    writeFileSync(join(home, "plain"), "a file");
    assert.equal(await codeOf(conn.request(FileRequest.PUT_FILE, putFileHeader("plain/x", content), content)), "E_NOT_DIR");
    // While a begin/data/commit upload holds the name, a one-request put of it is E_BUSY; after its commit it lands.
    const begin = await conn.request(FileRequest.PUT_BEGIN, { path: "busy.txt", fileSize: 3, stamp: "s", hashes: ["blake3"] });
    assert.equal(await codeOf(conn.request(FileRequest.PUT_FILE, putFileHeader("busy.txt", content), content)), "E_BUSY");
    await conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 0 }, Buffer.from("abc"));
    await conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, hash: blake3Of("abc") });
    await conn.request(FileRequest.PUT_FILE, putFileHeader("busy.txt", content), content);
    assert.deepEqual(readFileSync(join(home, "busy.txt")), content);
    assert.deepEqual(readdirSync(home).sort(), [".wharf", "busy.txt", "dir", "plain"], "nothing of the refused puts is stored");
    assert.deepEqual(readdirSync(join(home, ".wharf", "partials")), []);
    assert.deepEqual(readdirSync(join(home, ".wharf", "meta")), [`${statSync(join(home, "busy.txt")).ino}.json`]);
  });

  test("the quota holds for one-request puts sent many at once", async (t) => {
    const { url, dataDir } = await startFilesServer(t, { users: { alice: { quota: 10 * KiB } } });
    const { conn } = await session(t, url);
    const content = randomBytes(3 * KiB);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => conn.request(FileRequest.PUT_FILE, putFileHeader(`f${i}`, content), content)));
    const stored = results.filter((r) => r.status === "fulfilled").length;
    assert.equal(stored, 3, "3 of 3 KiB fit in 10 KiB, the 4th does not");
    for (const r of results) if (r.status === "rejected") assert.equal((r.reason as WharfError).code, "E_QUOTA");
    const names = readdirSync(join(dataDir, "homes", "alice")).filter((n) => n !== ".wharf");
    assert.equal(names.length, 3);
  });

  test("the quota's kept count follows every change: a replaced file, rm, mv over a file, an upload, and files changed behind the server's back", async (t) => {
    const { url, dataDir } = await startFilesServer(t, { users: { alice: { quota: 10 * KiB } } });
    const { conn, files } = await session(t, url);
    const home = join(dataDir, "homes", "alice");
    const put = (name: string, size: number): Promise<unknown> => {
      const content = randomBytes(size);
      return conn.request(FileRequest.PUT_FILE, putFileHeader(name, content), content);
    };
    const refused = async (name: string, size: number): Promise<void> => {
      await assert.rejects(put(name, size), (err: WharfError) => err.code === "E_QUOTA", `${name} (${size} bytes) is refused`);
    };
    await put("a", 3 * KiB);
    await put("b", 3 * KiB);
    await put("a", 3 * KiB); // replaces a: still 6 KiB
    await put("c", 3 * KiB); // 9 KiB
    await refused("d", 2 * KiB);
    await files.rm("c"); // 6 KiB
    await put("d", 3 * KiB); // 9 KiB
    await files.mv("d", "b"); // b's 3 KiB are gone: 6 KiB
    await put("e", 4 * KiB); // 10 KiB
    await refused("f", 1);
    await files.rm("e"); // 6 KiB
    // An upload of 3 KiB counts from its begin, and as a file after its commit.
    const content = randomBytes(3 * KiB);
    const begin = await conn.request(FileRequest.PUT_BEGIN, { path: "g", fileSize: content.length, hashes: ["blake3"] });
    await refused("f", 2 * KiB);
    await conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 0 }, content);
    await conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, hash: blake3Of(content) });
    await refused("f", 2 * KiB);
    await put("f", 1 * KiB); // 10 KiB
    // Another process (a worker, a node, an admin) removes files: seen once the count is a second old.
    for (const name of ["a", "b"]) rmSync(join(home, name));
    await new Promise((r) => setTimeout(r, 1_100));
    await put("h", 6 * KiB);
    assert.deepEqual(readdirSync(home).filter((n) => n !== ".wharf").sort(), ["f", "g", "h"]);
  });

  test("with a server default of sha256, a BLAKE3 sender's file is checked with BLAKE3 and recorded with sha256 (and BLAKE3 beside)", async (t) => {
    const { url } = await startFilesServer(t, { hash: "sha256" });
    const { conn, files } = await session(t, url);
    const content = randomBytes(777);
    const reply = await conn.request(FileRequest.PUT_FILE, putFileHeader("h.bin", content), content);
    assert.deepEqual([reply.header.hash, reply.header.sha256], [`sha256:${sha256Of(content)}`, sha256Of(content)]);
    assert.equal((await files.stat("h.bin", { hash: true })).hash, `sha256:${sha256Of(content)}`);
  });

  test("FilesClient.put sends a small file in one request, and falls back to begin/data/commit on a server without it", async (t) => {
    const local = tempDir(t);
    const src = join(local, "small.txt");
    writeFileSync(src, "small file");
    const when = new Date("2011-11-11T11:11:11Z");
    utimesSync(src, when, when);
    for (const start of [startFilesServer, startServerWithoutPutFile]) {
      const { url, dataDir } = await start(t);
      const { conn, files } = await session(t, url);
      const types: string[] = [];
      const request = conn.request.bind(conn);
      (conn as { request: Connection["request"] }).request = (type, ...rest) => (types.push(type), request(type, ...rest));
      for (const name of ["a.txt", "b.txt"]) {
        const put = await files.put(src, name);
        assert.deepEqual({ ...put, seconds: 0 }, { path: name, size: 10, hash: blake3Of("small file"), resumedFrom: 0, sent: 10, seconds: 0, mtime: when.getTime() });
        assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", name), "utf8"), "small file");
      }
      const expected =
        start === startFilesServer
          ? [FileRequest.PUT_FILE, FileRequest.PUT_FILE]
          : // The first try is answered E_UNKNOWN_TYPE; the connection then puts the usual way only.
            [FileRequest.PUT_FILE, FileRequest.PUT_BEGIN, FileRequest.PUT_DATA, FileRequest.PUT_COMMIT, FileRequest.PUT_BEGIN, FileRequest.PUT_DATA, FileRequest.PUT_COMMIT];
      assert.deepEqual(types, expected);
    }
  });

  test("put -r of 600 small files of 0 to 300 KiB stores every one whole, with its hash and mtime, and a second put sends none", async (t) => {
    const data = await dataWithUsers(t);
    const url = (await startServe(t, ["--data", data, "--no-udp"])).url("tcp");
    const tree = join(tempDir(t), "tree");
    const contents = new Map<string, Buffer>();
    for (let i = 0; i < 600; i += 1) {
      const rel = `d${i % 7}/s${i % 3}/f${i}.bin`;
      // Mostly small (one request each), some empty, a few over 256 KiB (begin/data/commit), in the same run.
      const size = i % 50 === 0 ? 0 : i % 97 === 0 ? 300 * KiB : (i * 7919) % (64 * KiB);
      contents.set(rel, randomBytes(size));
    }
    for (const [rel, content] of contents) {
      mkdirSync(join(tree, rel, ".."), { recursive: true });
      writeFileSync(join(tree, rel), content);
    }
    const put = await wharfAs(url, "alice", ["put", "-r", tree, "up", "--json"]);
    assert.equal(put.code, 0, put.stderr);
    const lines = jsonLines(put.stdout);
    const total = [...contents.values()].reduce((sum, c) => sum + c.length, 0);
    assert.deepEqual(lines.at(-1), { summary: true, dryRun: false, files: 600, sent: total, skipped: 0, notSent: 0 });
    const reported = new Map(lines.slice(0, -1).map((line) => [String(line.path), line]));
    const home = join(data, "homes", "alice");
    const { files } = await session(t, url);
    const listed = new Map((await files.list("up", { recursive: true, hash: true })).map((entry) => [entry.path, entry]));
    for (const [rel, content] of contents) {
      const path = `up/${rel}`;
      assert.deepEqual(readFileSync(join(home, path)), content, path);
      assert.equal(reported.get(path)?.hash, blake3Of(content), `${path}: the hash reported`);
      assert.equal(listed.get(path)?.hash, blake3Of(content), `${path}: the hash recorded`);
      assert.equal(listed.get(path)?.mtime, Math.round(statSync(join(tree, rel)).mtimeMs), `${path}: the mtime kept`);
    }
    assert.deepEqual(readdirSync(join(home, ".wharf", "partials")), []);
    const again = await wharfAs(url, "alice", ["put", "-r", tree, "up", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(jsonLines(again.stdout), [{ summary: true, dryRun: false, files: 0, sent: 0, skipped: 600, notSent: total }]);
  });
});
