import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { WharfError } from "../../../src/client/index.js";
import { FileRequest } from "../../../src/services/files/index.js";
import { startServe, tempDir } from "../../helpers/cli.js";
import { blake3Of, codeOf, dataWithUsers, jsonLines, session, sha256Of, startFilesServer, wharfAs } from "./helpers.js";

describe("content hash choice (issue 15)", () => {
  test("a client that offers no algorithm (from before issue 15) puts and gets with sha256 on the raw wire", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "old.txt", fileSize: 5, stamp: "s" });
    assert.equal(begun.header.hash, "sha256");
    const data = await conn.request(FileRequest.PUT_DATA, { upload: begun.header.upload, offset: 0 }, Buffer.from("hello"));
    assert.equal(data.header.sha256, sha256Of("hello"));
    const commit = await conn.request(FileRequest.PUT_COMMIT, { upload: begun.header.upload, sha256: sha256Of("hello") });
    assert.equal(commit.header.sha256, sha256Of("hello"));
    assert.equal((await files.stat("old.txt", { hash: true })).hash, `sha256:${sha256Of("hello")}`, "recorded with its algorithm");
    const got = await conn.requestStream(FileRequest.GET, { path: "old.txt" });
    assert.deepEqual([got.header.sha256, got.header.hash], [sha256Of("hello"), `sha256:${sha256Of("hello")}`]);
    for await (const chunk of got.body) assert.ok(chunk.length > 0); // read to the end before the connection closes
    assert.ok(readFileSync(join(dataDir, "homes", "alice", "old.txt")).equals(Buffer.from("hello")));
  });

  test("put --hash sha256 is stored with sha256 and a get follows it; a get may ask for BLAKE3 of a sha256 file and the reverse", async (t) => {
    const { url } = await startFilesServer(t);
    const { files } = await session(t, url);
    const dir = tempDir(t);
    const content = randomBytes(3 * 1024 * 1024 + 5);
    writeFileSync(join(dir, "src"), content);
    const put = await files.put(join(dir, "src"), "s.bin", { hash: "sha256" });
    assert.deepEqual([put.hash, put.sha256], [`sha256:${sha256Of(content)}`, sha256Of(content)]);
    const byRecord = await files.get("s.bin", join(dir, "a"));
    assert.equal(byRecord.hash, `sha256:${sha256Of(content)}`, "a get is verified with the algorithm recorded");
    const asked = await files.get("s.bin", join(dir, "b"), { hash: "blake3" });
    assert.equal(asked.hash, blake3Of(content));
    assert.deepEqual(readFileSync(join(dir, "b")), content);
    const entry = await files.stat("s.bin", { hash: true });
    assert.equal(entry.hash, `sha256:${sha256Of(content)}`, "the file keeps the algorithm it was stored with");

    await files.put(join(dir, "src"), "b.bin");
    const viaSha = await files.get("b.bin", join(dir, "c"), { hash: "sha256" });
    assert.deepEqual([viaSha.hash, viaSha.sha256], [`sha256:${sha256Of(content)}`, sha256Of(content)]);
  });

  test("the server's default (serve --hash sha256) applies when a client leaves the choice open", async (t) => {
    const { url } = await startFilesServer(t, { hash: "sha256" });
    const { files } = await session(t, url);
    const dir = tempDir(t);
    writeFileSync(join(dir, "x"), "abc");
    assert.equal((await files.put(join(dir, "x"), "x")).hash, `sha256:${sha256Of("abc")}`);
    assert.equal((await files.put(join(dir, "x"), "y", { hash: "blake3" })).hash, blake3Of("abc"), "a client's explicit choice wins");
  });

  test("files stored before this change (a bare sha256 record) keep working, and their record is what a get checks", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const home = join(dataDir, "homes", "alice");
    await files.mkdir("d"); // makes the home and its .wharf folders
    const content = randomBytes(200_000);
    writeFileSync(join(home, "legacy.bin"), content);
    writeFileSync(join(home, "bad.bin"), content);
    const metaDir = join(home, ".wharf", "meta");
    const record = (name: string, sha256: string): void => {
      const info = statSync(join(home, name), { bigint: true });
      writeFileSync(join(metaDir, `${info.ino}.json`), JSON.stringify({ ino: String(info.ino), size: Number(info.size), mtimeNs: String(info.mtimeNs), sha256 }));
    };
    record("legacy.bin", sha256Of(content));
    record("bad.bin", sha256Of("something else"));
    assert.equal((await files.stat("legacy.bin", { hash: true })).hash, `sha256:${sha256Of(content)}`);
    const dir = tempDir(t);
    const got = await files.get("legacy.bin", join(dir, "legacy.bin"));
    assert.equal(got.hash, `sha256:${sha256Of(content)}`);
    assert.deepEqual(readFileSync(join(dir, "legacy.bin")), content);
    // The old record of bad.bin does not match its bytes: the server checks as it sends and breaks the transfer off.
    const failed = await files.get("bad.bin", join(dir, "bad.bin")).catch((err: unknown) => err);
    assert.ok(failed instanceof WharfError, String(failed));
    assert.ok(["E_INTEGRITY", "E_CONNECTION_CLOSED"].includes(failed.code), failed.code);
    assert.deepEqual(readdirSync(dir).filter((n) => n === "bad.bin"), [], "nothing kept under the name");
    void conn;
  });

  test("integrity: a BLAKE3 commit that names other content stores nothing", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "x.bin", fileSize: 5, stamp: "s", hashes: ["blake3", "sha256"] });
    assert.equal(begun.header.hash, "blake3");
    const data = await conn.request(FileRequest.PUT_DATA, { upload: begun.header.upload, offset: 0 }, Buffer.from("hellO"));
    assert.deepEqual([data.header.hash, data.header.sha256], [blake3Of("hellO"), undefined]);
    const wrongAlgorithm = await codeOf(conn.request(FileRequest.PUT_COMMIT, { upload: begun.header.upload, sha256: sha256Of("hellO") }));
    assert.equal(wrongAlgorithm, "E_INVALID_PARAMS", "a commit must name the upload's algorithm");
    const error = await conn.request(FileRequest.PUT_COMMIT, { upload: begun.header.upload, hash: blake3Of("hello") }).catch((err: unknown) => err);
    assert.ok(error instanceof WharfError);
    assert.equal(error.code, "E_INTEGRITY");
    assert.deepEqual(error.data, { expected: blake3Of("hello"), actual: blake3Of("hellO") });
    assert.equal(await codeOf(files.stat("x.bin")), "E_NOT_FOUND");
    assert.deepEqual(readdirSync(join(dataDir, "homes", "alice", ".wharf", "partials")), []);
  });

  test("where BLAKE3 cannot load, put falls back to sha256 with one line on stderr, and serve to sha256 too", async (t) => {
    const dir = tempDir(t);
    // A preload that makes the native module unloadable, as on a platform without a prebuilt binary (neither the
    // package nor its platform binary's package, which hash.ts asks for first on Linux).
    const preload = join(dir, "no-blake3.cjs");
    writeFileSync(preload, `const M = require("module"); const orig = M._resolveFilename;
M._resolveFilename = function (request, ...rest) { if (request.startsWith("@napi-rs/blake-hash")) throw new Error("Cannot find module '@napi-rs/blake-hash'"); return orig.call(this, request, ...rest); };\n`);
    const env = { NODE_OPTIONS: `--require ${preload}` };
    const data = await dataWithUsers(t);
    const serve = await startServe(t, ["--data", data, "--no-udp"], env);
    const url = serve.url("tcp");
    writeFileSync(join(dir, "f"), "fallback");
    const put = await wharfAs(url, "alice", ["put", join(dir, "f"), "f", "--json"], { env });
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stderr, /^wharf: BLAKE3 is not available \(Cannot find module '@napi-rs\/blake-hash'\); hashing with sha256\n$/);
    assert.equal(jsonLines(put.stdout)[0].hash, `sha256:${sha256Of("fallback")}`);
    // A normal client against that server: it offers BLAKE3 first, the server can only do sha256.
    const normal = await wharfAs(url, "alice", ["put", join(dir, "f"), "g", "--json"]);
    assert.equal(normal.code, 0, normal.stderr);
    assert.equal(jsonLines(normal.stdout)[0].hash, `sha256:${sha256Of("fallback")}`);
    assert.equal(serve.stderr().match(/BLAKE3 is not available/g)?.length, 1, `one log line: ${serve.stderr()}`);
  });
});
