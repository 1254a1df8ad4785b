import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { connect } from "../../../src/client/index.js";
import { FileRequest } from "../../../src/services/files/index.js";
import { tempDir } from "../../helpers/cli.js";
import { blake3Of, codeOf, session, sha256File, sha256Of, startFilesServer } from "./helpers.js";

describe("files over the wire (library)", () => {
  test("put, stat, list and get round-trip empty, small and multi-MiB files, verified with BLAKE3 by default", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const local = tempDir(t);
    const cases: [string, Buffer][] = [
      ["empty.bin", Buffer.alloc(0)],
      ["small.txt", Buffer.from("hello wharf\n")],
      ["docs/big.bin", randomBytes(9 * 1024 * 1024 + 17)],
    ];
    for (const [name, content] of cases) {
      const src = join(local, name.replaceAll("/", "_"));
      writeFileSync(src, content);
      const put = await files.put(src, name);
      assert.deepEqual({ ...put, seconds: 0, mtime: 0 }, { path: name, size: content.length, hash: blake3Of(content), resumedFrom: 0, sent: content.length, seconds: 0, mtime: 0 });
      assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", name)), content);
      const entry = await files.stat(name, { sha256: true, hash: true });
      assert.equal(entry.hash, blake3Of(content), "the recorded hash, with its algorithm");
      assert.equal(entry.sha256, sha256Of(content), "a sha256 asked for is computed besides");
      assert.equal(entry.size, content.length);
      // A get and then a put on the same connection: the connection must go on reading after a streamed reply.
      const dst = join(local, `copy-${name.replaceAll("/", "_")}`);
      const got = await files.get(name, dst);
      assert.deepEqual([got.hash, got.sha256, got.resumedFrom, got.sent], [blake3Of(content), undefined, 0, content.length]);
      assert.equal(await sha256File(dst), sha256Of(content));
    }
    const listing = await files.list("", { recursive: true });
    assert.deepEqual(listing.map((e) => `${e.type}:${e.path}:${e.size}`), ["dir:docs:0", `file:docs/big.bin:${9 * 1024 * 1024 + 17}`, "file:empty.bin:0", "file:small.txt:12"]);
    assert.deepEqual(readdirSync(local).filter((n) => n.includes("wharf-partial")), [], "no download partial is left behind");
    assert.deepEqual(readdirSync(join(dataDir, "homes", "alice", ".wharf", "partials")), [], "no upload partial is left behind");
  });

  test("the stored file keeps the local file's mtime, and a download gets it back", async (t) => {
    const { url } = await startFilesServer(t);
    const { files } = await session(t, url);
    const local = tempDir(t);
    const src = join(local, "old.txt");
    writeFileSync(src, "from 2001");
    const { utimesSync, statSync } = await import("node:fs");
    const when = new Date("2001-09-09T01:46:40Z");
    utimesSync(src, when, when);
    const put = await files.put(src, "old.txt");
    assert.equal(put.mtime, when.getTime());
    assert.equal((await files.stat("old.txt")).mtime, when.getTime());
    await files.get("old.txt", join(local, "back.txt"));
    assert.equal(statSync(join(local, "back.txt")).mtimeMs, when.getTime());
  });

  test("many clients at once, each with several transfers in flight on its connection, all correct", async (t) => {
    const { url } = await startFilesServer(t, { users: { alice: {}, bob: {} } });
    const local = tempDir(t);
    const clients = await Promise.all(["alice", "alice", "bob", "bob"].map((user) => session(t, url, user)));
    const jobs = clients.flatMap(({ files }, c) =>
      [0, 1, 2].map((k) => {
        const content = randomBytes(1024 * 1024 + Math.floor(Math.random() * 3 * 1024 * 1024));
        const src = join(local, `src-${c}-${k}`);
        writeFileSync(src, content);
        return { files, c, k, content, src, remote: `c${c}/f${k}.bin` };
      }),
    );
    const puts = await Promise.all(jobs.map((job) => job.files.put(job.src, job.remote)));
    puts.forEach((put, i) => assert.equal(put.hash, blake3Of(jobs[i].content)));
    const gets = await Promise.all(jobs.map((job) => job.files.get(job.remote, `${job.src}.back`)));
    for (const [i, job] of jobs.entries()) {
      assert.equal(gets[i].hash, blake3Of(job.content));
      assert.deepEqual(readFileSync(`${job.src}.back`), job.content);
    }
    // Each user sees only their own files: alice's two clients wrote c0 and c1, bob's c2 and c3.
    assert.deepEqual((await clients[0].files.list()).map((e) => e.name), ["c0", "c1"]);
    assert.deepEqual((await clients[2].files.list()).map((e) => e.name), ["c2", "c3"]);
  });

  test("users cannot see or reach each other's files", async (t) => {
    const { url } = await startFilesServer(t, { users: { alice: {}, bob: {} } });
    const alice = await session(t, url, "alice");
    const bob = await session(t, url, "bob");
    const src = join(tempDir(t), "secret.txt");
    writeFileSync(src, "alice only");
    await alice.files.put(src, "secret.txt");
    assert.deepEqual(await bob.files.list(), []);
    assert.equal(await codeOf(bob.files.stat("secret.txt")), "E_NOT_FOUND");
    assert.equal(await codeOf(bob.files.get("../alice/secret.txt", join(tempDir(t), "x"))), "E_PATH");
    assert.equal(await codeOf(bob.files.rm("../alice/secret.txt")), "E_PATH");
    assert.equal((await alice.files.stat("secret.txt")).size, 10);
  });

  test("every files request without a login gets E_AUTH", async (t) => {
    const { url } = await startFilesServer(t);
    const conn = await connect(url);
    t.after(() => conn.destroy());
    const requests: [string, Record<string, unknown>][] = [
      [FileRequest.STAT, { path: "x" }],
      [FileRequest.LIST, { path: "" }],
      [FileRequest.MKDIR, { path: "d" }],
      [FileRequest.RM, { path: "x" }],
      [FileRequest.MV, { from: "x", to: "y" }],
      [FileRequest.PUT_BEGIN, { path: "x", fileSize: 1 }],
      [FileRequest.PUT_COMMIT, { upload: "u", sha256: "0".repeat(64) }],
      [FileRequest.PUT_ABORT, { upload: "u" }],
      [FileRequest.GET, { path: "x" }],
    ];
    for (const [type, fields] of requests) assert.equal(await codeOf(conn.request(type, fields)), "E_AUTH", type);
    assert.equal(await codeOf(conn.request(FileRequest.PUT_DATA, { upload: "u", offset: 0 }, Buffer.from("abc"))), "E_AUTH");
    assert.equal((await conn.request("ping", {}, Buffer.from("still served"))).body.toString(), "still served");
  });

  test("bad fields get E_INVALID_PARAMS naming the field, and the connection stays usable", async (t) => {
    const { url } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    await assert.rejects(conn.request(FileRequest.PUT_BEGIN, { path: "x" }), { code: "E_INVALID_PARAMS", message: /fileSize/ });
    await assert.rejects(conn.request(FileRequest.PUT_BEGIN, { path: "x", fileSize: -1 }), { code: "E_INVALID_PARAMS" });
    await assert.rejects(conn.request(FileRequest.PUT_BEGIN, { path: 7, fileSize: 1 }), { code: "E_INVALID_PARAMS", message: /path/ });
    await assert.rejects(conn.request(FileRequest.PUT_DATA, { upload: "nope", offset: 0 }, Buffer.from("abc")), { code: "E_INVALID_PARAMS", message: /unknown upload/ });
    const begin = await conn.request(FileRequest.PUT_BEGIN, { path: "x", fileSize: 3, stamp: "s" });
    await assert.rejects(conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 1 }, Buffer.from("bc")), { code: "E_INVALID_PARAMS", message: /0 of 3/ });
    await assert.rejects(conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, sha256: "zz" }), { code: "E_INVALID_PARAMS", message: /sha256/ });
    await assert.rejects(conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, sha256: sha256Of("abc") }), { code: "E_INVALID_PARAMS", message: /send the rest/ });
    await conn.request(FileRequest.PUT_DATA, { upload: begin.header.upload, offset: 0 }, Buffer.from("abc"));
    const commit = await conn.request(FileRequest.PUT_COMMIT, { upload: begin.header.upload, sha256: sha256Of("abc") });
    assert.deepEqual({ ...commit.header, mtime: 0 }, { id: commit.header.id, ok: true, path: "x", fileSize: 3, hash: `sha256:${sha256Of("abc")}`, sha256: sha256Of("abc"), mtime: 0 });
    assert.equal((await files.stat("x")).size, 3);
  });

  test("mkdir, rm and mv behave like their shell namesakes, and a moved file keeps its sha256", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const src = join(tempDir(t), "a.txt");
    writeFileSync(src, "content of a");
    const home = join(dataDir, "homes", "alice");

    await files.mkdir("docs");
    assert.equal(await codeOf(files.mkdir("docs")), "E_EXISTS");
    await files.mkdir("docs", { parents: true });
    assert.equal(await codeOf(files.mkdir("x/y")), "E_NOT_FOUND");
    await files.mkdir("x/y", { parents: true });
    assert.equal((await files.stat("x/y")).type, "dir");

    await files.put(src, "docs/a.txt");
    assert.equal(await codeOf(files.put(src, "docs")), "E_IS_DIR");
    assert.equal(await codeOf(files.put(src, "docs/a.txt/b")), "E_NOT_DIR");
    assert.equal(await codeOf(files.get("docs", join(tempDir(t), "d"))), "E_IS_DIR");
    assert.equal(await codeOf(files.rm("docs")), "E_NOT_EMPTY");

    assert.deepEqual(await files.mv("docs/a.txt", "x"), { from: "docs/a.txt", to: "x/a.txt" });
    assert.equal((await files.stat("x/a.txt", { sha256: true })).sha256, sha256Of("content of a"));
    assert.deepEqual(await files.mv("x", "moved"), { from: "x", to: "moved" });
    assert.equal((await files.stat("moved/a.txt", { sha256: true })).sha256, sha256Of("content of a"));
    assert.equal(await codeOf(files.mv("moved", "moved/y")), "E_PATH");
    assert.equal(await codeOf(files.mv("nothing", "z")), "E_NOT_FOUND");
    assert.equal(await codeOf(files.mv("moved/a.txt", "no/such/dir/a.txt")), "E_NOT_FOUND");

    writeFileSync(src, "another");
    await files.put(src, "other.txt");
    await files.mv("other.txt", "moved/a.txt"); // replaces the file
    assert.equal((await files.stat("moved/a.txt", { sha256: true })).sha256, sha256Of("another"));
    await files.put(src, "f.txt");
    assert.equal(await codeOf(files.mv("moved", "f.txt")), "E_EXISTS");

    assert.deepEqual(await files.rm("docs"), { path: "docs", files: 0 });
    assert.deepEqual(await files.rm("moved", { recursive: true }), { path: "moved", files: 1 });
    assert.deepEqual(await files.rm("f.txt"), { path: "f.txt", files: 1 });
    assert.equal(await codeOf(files.rm("f.txt")), "E_NOT_FOUND");
    assert.equal(await codeOf(files.rm("")), "E_PATH");
    assert.deepEqual((await files.list()).map((e) => e.name), []);
    assert.equal(existsSync(join(home, ".wharf")), true, "the service's own folder is there but never listed");
    assert.deepEqual(readdirSync(join(home, ".wharf", "meta")), [], "records of removed files are gone too");
  });

  test("a listing larger than one page arrives whole and in order", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    await files.mkdir("many");
    const dir = join(dataDir, "homes", "alice", "many");
    const names = Array.from({ length: 2500 }, (_, i) => `f${String(i).padStart(5, "0")}`);
    for (const name of names) writeFileSync(join(dir, name), name);
    const entries = await files.list("many");
    assert.deepEqual(entries.map((e) => e.name), names);
    // Files placed by hand have no recorded sha256: it is computed on demand.
    assert.equal((await files.stat("many/f00042", { sha256: true })).sha256, sha256Of("f00042"));
  });
});
