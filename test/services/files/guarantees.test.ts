import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createHash } from "node:crypto";
import { WharfError } from "../../../src/client/index.js";
import { downloadPartialPaths, FileLayout, FileRequest, type TransferResult } from "../../../src/services/files/index.js";
import { fsFailure } from "../../../src/services/files/errors.js";
import { HashingWriter } from "../../../src/services/files/hashing-io.js";
import { partialKey } from "../../../src/services/files/layout.js";
import { encodeFrame, encodeFrameHead } from "../../../src/wire/index.js";
import { tempDir } from "../../helpers/cli.js";
import { rawConnect } from "../../helpers/raw.js";
import { blake3Of, codeOf, session, sha256Of, startFilesServer } from "./helpers.js";

const KiB = 1024;

/** Leaves a partial upload on the server as an interrupted put of `local` to `remote` would have. */
function craftPartial(dataDir: string, user: string, remote: string, local: string, prefix: Buffer): void {
  const info = statSync(local);
  const dir = join(dataDir, "homes", user, ".wharf", "partials");
  mkdirSync(dir, { recursive: true });
  const key = partialKey(remote);
  writeFileSync(join(dir, `${key}.part`), prefix);
  writeFileSync(join(dir, `${key}.json`), JSON.stringify({ path: remote, fileSize: info.size, stamp: `${info.size}:${info.mtimeMs}:${info.ino}`, created: Date.now() }));
}

describe("files guarantees", () => {
  test("quota: refused with E_QUOTA before any byte is stored; replacing counts the old file out; running uploads reserve their size", async (t) => {
    const { url, dataDir } = await startFilesServer(t, { users: { carol: { quota: 1024 * KiB } } });
    const { conn, files } = await session(t, url, "carol");
    const local = tempDir(t);
    const write = (name: string, size: number): string => {
      const path = join(local, name);
      writeFileSync(path, randomBytes(size));
      return path;
    };
    const partials = join(dataDir, "homes", "carol", ".wharf", "partials");
    const error = await files.put(write("big", 2048 * KiB), "big").catch((err: unknown) => err);
    assert.ok(error instanceof WharfError);
    assert.equal(error.code, "E_QUOTA");
    assert.deepEqual(error.data, { quota: 1024 * KiB, used: 0, needed: 2048 * KiB });
    assert.deepEqual(readdirSync(partials), [], "nothing of the refused upload was stored");
    await files.put(write("a", 600 * KiB), "a");
    assert.equal(await codeOf(files.put(write("b", 600 * KiB), "b")), "E_QUOTA");
    await files.put(write("a2", 900 * KiB), "a"); // replaces a: 900 KiB in all
    assert.equal((await files.stat("a")).size, 900 * KiB);
    await files.rm("a");
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "reserved", fileSize: 700 * KiB, stamp: "s" });
    assert.equal(await codeOf(files.put(write("c", 400 * KiB), "c")), "E_QUOTA", "the running upload's 700 KiB count");
    await conn.request(FileRequest.PUT_ABORT, { upload: begun.header.upload });
    assert.equal(await codeOf(files.put(write("c", 300 * KiB), "c")), "none");
  });

  test("a put over a stored file lets go of the old one once it has answered: no descriptor keeps its space", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const local = tempDir(t);
    const home = join(dataDir, "homes", "alice");
    /** This process's descriptors (the server runs in it) of files deleted from the home. */
    const heldDeleted = (): string[] =>
      readdirSync("/proc/self/fd").flatMap((fd) => {
        try {
          const target = readlinkSync(join("/proc/self/fd", fd));
          return target.startsWith(home) && target.endsWith("(deleted)") ? [target] : [];
        } catch {
          return []; // closed meanwhile (the listing's own descriptor)
        }
      });
    for (let round = 0; round < 3; round += 1) {
      const content = randomBytes(3 * 1024 * KiB + round);
      writeFileSync(join(local, "f"), content);
      await files.put(join(local, "f"), "big.bin", { delta: round !== 1 });
      // The reply is out; the old version is let go right after it.
      for (let wait = 0; wait < 200 && heldDeleted().length > 0; wait += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(heldDeleted(), [], `round ${round}`);
      assert.deepEqual(readFileSync(join(home, "big.bin")), content);
    }
  });

  test("a get checks the stored bytes against their record, once per unchanged file; changed behind the server's back (size and mtime kept), the server checks again and drops the connection", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const local = tempDir(t);
    const content = randomBytes(2 * 1024 * KiB + 17);
    writeFileSync(join(local, "f"), content);
    await files.put(join(local, "f"), "f.bin");
    /** The bytes of a raw files.get: no check of the client's, only the server's. */
    const rawGet = async (): Promise<Buffer> => {
      const reply = await conn.requestStream(FileRequest.GET, { path: "f.bin", hashes: ["blake3"] });
      const parts: Buffer[] = [];
      for await (const chunk of reply.body) parts.push(Buffer.from(chunk));
      return Buffer.concat(parts);
    };
    // A whole second for mtime, which utimes sets exactly (the record follows it), so that it can be put back.
    const home = join(dataDir, "homes", "alice");
    const stored = join(home, "f.bin");
    utimesSync(stored, 1_700_000_000, 1_700_000_000);
    const recordPath = join(home, ".wharf", "meta", `${statSync(stored).ino}.json`);
    const record = JSON.parse(readFileSync(recordPath, "utf8")) as Record<string, unknown>;
    writeFileSync(recordPath, JSON.stringify({ ...record, mtimeNs: String(statSync(stored, { bigint: true }).mtimeNs) }));
    for (let i = 0; i < 3; i += 1) {
      assert.deepEqual(await rawGet(), content, `get ${i}`);
      assert.equal(((await conn.request(FileRequest.STAT, { path: "f.bin" })).header.entry as { size: number }).size, content.length, `get ${i}: the connection goes on`);
    }
    const rotten = Buffer.from(content);
    rotten[1234567] ^= 0x40;
    writeFileSync(stored, rotten);
    utimesSync(stored, 1_700_000_000, 1_700_000_000); // size and mtime as recorded: only the bytes (and ctime) tell
    // Checked again (it changed since): the check fails with the last byte sent, and the server drops the connection.
    assert.deepEqual(await rawGet(), rotten, "the reply itself is whole (what the client checks)");
    const next = await codeOf(conn.request(FileRequest.STAT, { path: "f.bin" }));
    assert.ok(["E_INTERNAL", "E_CONNECTION_CLOSED"].includes(next), `the connection is gone (${next})`);
    const again = await session(t, url);
    assert.equal(await codeOf(again.files.get("f.bin", join(local, "copy"))), "E_INTEGRITY", "and the client's own check refuses it");
    assert.ok(!existsSync(join(local, "copy")), "nothing kept");
  });

  test("two uploads to one name at once: the second gets E_BUSY until the first ends; racing puts leave one whole file", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const first = await session(t, url);
    const second = await session(t, url);
    const begun = await first.conn.request(FileRequest.PUT_BEGIN, { path: "same.bin", fileSize: 10, stamp: "a" });
    await assert.rejects(second.conn.request(FileRequest.PUT_BEGIN, { path: "same.bin", fileSize: 20, stamp: "b" }), { code: "E_BUSY" });
    await assert.rejects(first.conn.request(FileRequest.PUT_BEGIN, { path: "./same.bin", fileSize: 10, stamp: "a" }), { code: "E_BUSY" }, "the same name spelled differently");
    await second.conn.request(FileRequest.PUT_BEGIN, { path: "other.bin", fileSize: 20, stamp: "b" });
    first.conn.destroy(); // a client that goes away releases its lock
    let retried: unknown;
    for (let i = 0; i < 100; i += 1) {
      retried = await second.conn.request(FileRequest.PUT_BEGIN, { path: "same.bin", fileSize: 20, stamp: "b" }).catch((err: unknown) => err);
      if (!(retried instanceof WharfError)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(!(retried instanceof WharfError), String(retried));
    void begun;

    const local = tempDir(t);
    const contents = [randomBytes(6 * 1024 * KiB), randomBytes(5 * 1024 * KiB)];
    const racers = await Promise.all(contents.map(() => session(t, url)));
    const results = await Promise.allSettled(
      contents.map((content, i) => {
        writeFileSync(join(local, `v${i}`), content);
        return racers[i].files.put(join(local, `v${i}`), "race.bin");
      }),
    );
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    for (const r of results) if (r.status === "rejected") assert.equal((r.reason as WharfError).code, "E_BUSY");
    assert.ok(won.length >= 1);
    const stored = readFileSync(join(dataDir, "homes", "alice", "race.bin"));
    assert.ok(won.some((i) => stored.equals(contents[i])), "the stored file is one upload, whole");
  });

  test("resume: a put sends only what the server lacks and still verifies the whole file; a bad kept prefix is caught and the put redone", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const local = join(tempDir(t), "r.bin");
    const content = randomBytes(3 * 1024 * KiB + 5);
    writeFileSync(local, content);
    craftPartial(dataDir, "alice", "r.bin", local, content.subarray(0, 1024 * KiB));
    const resumed = await files.put(local, "r.bin");
    assert.equal(resumed.resumedFrom, 1024 * KiB);
    assert.equal(resumed.hash, blake3Of(content));
    assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", "r.bin")), content);

    const corrupt = Buffer.from(content.subarray(0, 2048 * KiB));
    corrupt[12345] ^= 0xff;
    craftPartial(dataDir, "alice", "r2.bin", local, corrupt);
    const redone = await files.put(local, "r2.bin");
    assert.equal(redone.resumedFrom, 0, "the mismatch was found, the partial dropped, and the put redone from the start");
    assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", "r2.bin")), content);

    // A partial of another version of the file (other stamp) is not resumed onto.
    craftPartial(dataDir, "alice", "r3.bin", local, content.subarray(0, 1024 * KiB));
    const dir = join(dataDir, "homes", "alice", ".wharf", "partials");
    const infoPath = join(dir, `${partialKey("r3.bin")}.json`);
    writeFileSync(infoPath, readFileSync(infoPath, "utf8").replace(/"stamp":"[^"]*"/, '"stamp":"older"'));
    assert.equal((await files.put(local, "r3.bin")).resumedFrom, 0);
  });

  test("a network cut mid-put (the connection stays open, silent) ends the upload after the stall timeout; the next put resumes", async (t) => {
    // Long enough that a login and a second put's start fit inside it on a loaded machine.
    const { url, dataDir } = await startFilesServer(t, { stallTimeout: 3_000 });
    const content = randomBytes(2 * 1024 * KiB);
    const local = join(tempDir(t), "cut.bin");
    writeFileSync(local, content);
    const raw = await rawConnect(url);
    t.after(() => raw.socket.destroy());
    raw.socket.write(encodeFrame({ type: "auth", id: 1, user: "alice", password: "pw" }));
    assert.equal((await raw.nextFrame()).header.ok, true);
    raw.socket.write(encodeFrame({ type: FileRequest.PUT_BEGIN, id: 2, path: "cut.bin", fileSize: content.length, stamp: "v1" }));
    const begun = (await raw.nextFrame()).header;
    assert.equal(begun.offset, 0);
    // The data frame's header and half its body, then silence: as if the cable were pulled.
    const half = 1024 * KiB;
    raw.socket.write(encodeFrameHead({ type: FileRequest.PUT_DATA, id: 3, upload: begun.upload, offset: 0, size: content.length }));
    raw.socket.write(content.subarray(0, half));
    const { files } = await session(t, url);
    assert.equal(await codeOf(files.put(local, "cut.bin", { stamp: "v1" })), "E_BUSY", "still held while the stall timeout runs");
    const partial = join(dataDir, "homes", "alice", ".wharf", "partials", `${partialKey("cut.bin")}.part`);
    let resumed: TransferResult | unknown;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      resumed = await files.put(local, "cut.bin", { stamp: "v1" }).catch((err: unknown) => err);
      if (!(resumed instanceof WharfError && resumed.code === "E_BUSY")) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(!(resumed instanceof Error), String(resumed));
    assert.equal((resumed as TransferResult).resumedFrom, half, "every byte that arrived before the cut was kept");
    assert.equal((resumed as TransferResult).hash, blake3Of(content));
    assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", "cut.bin")), content);
    assert.equal(existsSync(partial), false);
  });

  test("integrity: a commit whose sha256 differs stores nothing and deletes the partial", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "x.bin", fileSize: 5, stamp: "s" });
    const data = await conn.request(FileRequest.PUT_DATA, { upload: begun.header.upload, offset: 0 }, Buffer.from("hello"));
    assert.equal(data.header.sha256, sha256Of("hello"));
    const error = await conn.request(FileRequest.PUT_COMMIT, { upload: begun.header.upload, sha256: sha256Of("hellO") }).catch((err: unknown) => err);
    assert.ok(error instanceof WharfError);
    assert.equal(error.code, "E_INTEGRITY");
    assert.deepEqual(error.data, { expected: sha256Of("hellO"), actual: sha256Of("hello") });
    assert.equal(await codeOf(files.stat("x.bin")), "E_NOT_FOUND");
    assert.deepEqual(readdirSync(join(dataDir, "homes", "alice", ".wharf", "partials")), []);
  });

  test("resume: a get fetches only the missing rest, and a kept prefix that does not match is caught and fetched again", async (t) => {
    const { url } = await startFilesServer(t);
    const { files } = await session(t, url);
    const dir = tempDir(t);
    const content = randomBytes(3 * 1024 * KiB + 11);
    writeFileSync(join(dir, "src"), content);
    await files.put(join(dir, "src"), "g.bin");
    const local = join(dir, "g.bin");
    const partial = downloadPartialPaths(local);
    writeFileSync(partial.data, content.subarray(0, 1024 * KiB));
    writeFileSync(partial.info, JSON.stringify({ path: "g.bin", fileSize: content.length, sha256: sha256Of(content) }));
    const resumed = await files.get("g.bin", local);
    assert.equal(resumed.resumedFrom, 1024 * KiB);
    assert.deepEqual(readFileSync(local), content);
    assert.equal(existsSync(partial.data) || existsSync(partial.info), false);

    const corrupt = Buffer.from(content.subarray(0, 2048 * KiB));
    corrupt[7] ^= 1;
    writeFileSync(partial.data, corrupt);
    writeFileSync(partial.info, JSON.stringify({ path: "g.bin", fileSize: content.length, sha256: sha256Of(content) }));
    const redone = await files.get("g.bin", local);
    assert.equal(redone.resumedFrom, 0);
    assert.deepEqual(readFileSync(local), content);

    // A partial of other content (the remote file changed since) is not resumed: the server sends it whole.
    writeFileSync(partial.data, content.subarray(0, 1024 * KiB));
    writeFileSync(partial.info, JSON.stringify({ path: "g.bin", fileSize: content.length, sha256: sha256Of("older") }));
    assert.equal((await files.get("g.bin", local)).resumedFrom, 0);
    assert.deepEqual(readFileSync(local), content);
  });

  test("stale partials expire after the configured time; one held by a running upload stays", async (t) => {
    const { url, dataDir, files: service } = await startFilesServer(t, { partialTtl: 60_000 });
    const { conn, files } = await session(t, url);
    const local = join(tempDir(t), "p.bin");
    writeFileSync(local, randomBytes(100 * KiB));
    craftPartial(dataDir, "alice", "old.bin", local, Buffer.alloc(10));
    craftPartial(dataDir, "alice", "fresh.bin", local, Buffer.alloc(10));
    const dir = join(dataDir, "homes", "alice", ".wharf", "partials");
    const past = new Date(Date.now() - 120_000);
    for (const ext of ["part", "json"]) utimesSync(join(dir, `${partialKey("old.bin")}.${ext}`), past, past);
    await conn.request(FileRequest.PUT_BEGIN, { path: "held.bin", fileSize: 5, stamp: "h" });
    for (const ext of ["part", "json"]) utimesSync(join(dir, `${partialKey("held.bin")}.${ext}`), past, past);
    assert.equal(await service.sweep(), 1);
    const left = readdirSync(dir).sort();
    assert.ok(!left.some((name) => name.startsWith(partialKey("old.bin"))), "the old one is gone");
    assert.ok(left.includes(`${partialKey("fresh.bin")}.part`), "a recent one stays");
    assert.ok(left.includes(`${partialKey("held.bin")}.part`), "one held by a running upload stays");
    void files;
  });

  test("E_NO_SPACE: an upload larger than the disk's free space is refused up front", async (t) => {
    const { url } = await startFilesServer(t);
    const { conn } = await session(t, url);
    const error = await conn.request(FileRequest.PUT_BEGIN, { path: "huge", fileSize: 2 ** 52, stamp: "s" }).catch((err: unknown) => err);
    assert.ok(error instanceof WharfError);
    assert.equal(error.code, "E_NO_SPACE");
    assert.equal((error.data as { needed: number }).needed, 2 ** 52);
  });

  test("E_NO_SPACE: a write that hits a full disk (/dev/full) fails with ENOSPC, mapped to E_NO_SPACE", async () => {
    const file = await open("/dev/full", "w");
    const hash = createHash("sha256");
    const writer = new HashingWriter(file, 0, hash, 64 * KiB);
    let failure: unknown;
    try {
      for (let i = 0; i < 10; i += 1) await writer.write(Buffer.alloc(64 * KiB, i));
      await writer.finish();
    } catch (err) {
      failure = err;
    } finally {
      await writer.settle();
      await file.close();
    }
    assert.equal((failure as NodeJS.ErrnoException).code, "ENOSPC");
    const mapped = fsFailure(failure, "docs/a.bin");
    assert.ok(mapped instanceof WharfError);
    assert.equal(mapped.code, "E_NO_SPACE");
    assert.match(mapped.message, /^docs\/a\.bin: /);
  });

  test("E_NO_SPACE: a disk that fills up during an upload keeps the partial, and the put resumes once there is room", async (t) => {
    // A real small file system: a 4 MiB tmpfs. Mounting needs root and a system that permits it.
    const mountPoint = mkdtempSync(join(tmpdir(), "wharf-tmpfs-"));
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint], { encoding: "utf8" });
    t.after(() => {
      if (mount.status === 0) spawnSync("umount", ["-l", mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });
    if (mount.status !== 0) {
      t.skip(`cannot mount a small tmpfs here (${(mount.stderr || mount.error?.message || "").trim()}); the ENOSPC mapping is covered by the /dev/full test`);
      return;
    }
    const { url } = await startFilesServer(t, { dataDir: join(mountPoint, "data") });
    const { files } = await session(t, url);
    const local = join(tempDir(t), "fill.bin");
    const content = randomBytes(3 * 1024 * KiB);
    writeFileSync(local, content);
    // Room for the upload when it begins, none soon after: something else fills the disk meanwhile.
    const filler = join(mountPoint, "filler");
    let filled = false;
    const error = await files
      .put(local, "fill.bin", {
        onProgress: ({ done }) => {
          if (!filled && done > 0) {
            filled = true;
            spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k", "count=40"]);
          }
        },
      })
      .catch((err: unknown) => err);
    assert.ok(error instanceof WharfError, String(error));
    assert.equal(error.code, "E_NO_SPACE", error.message);
    const partials = readdirSync(join(mountPoint, "data", "homes", "alice", ".wharf", "partials"));
    const part = partials.find((name) => name.endsWith(".part"));
    assert.ok(part !== undefined, "the partial is kept");
    const kept = statSync(join(mountPoint, "data", "homes", "alice", ".wharf", "partials", part)).size;
    assert.ok(kept > 0 && kept < content.length, `kept ${kept} bytes`);
    spawnSync("rm", ["-f", filler]);
    const { files: again } = await session(t, url);
    const resumed = await again.put(local, "fill.bin");
    assert.ok(resumed.resumedFrom > 0, `resumed from ${resumed.resumedFrom}`);
    assert.equal(resumed.hash, blake3Of(content));
    assert.deepEqual(readFileSync(join(mountPoint, "data", "homes", "alice", "fill.bin")), content);
    void FileLayout;
  });
});
