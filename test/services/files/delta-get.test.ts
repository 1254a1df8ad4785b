import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { WharfError } from "../../../src/client/index.js";
import { createBlockHasher } from "../../../src/services/files/block-hash.js";
import { chunkBuffer } from "../../../src/services/files/chunker.js";
import { SPARSE_STRIDE } from "../../../src/services/files/delta-block-match.js";
import { downloadBlockSize } from "../../../src/services/files/delta-client.js";
import { MAX_BLOCK_SEARCHES } from "../../../src/services/files/delta-download-blocks.js";
import { BLOCK_SIZE, blockListOf, fingerprint, MAX_GET_BLOCK_LIST } from "../../../src/services/files/delta-blocks.js";
import { encodeChunkList, RecipeDecoder } from "../../../src/services/files/delta-ops.js";
import { FileRequest, FilesClient } from "../../../src/services/files/index.js";
import { tempDir } from "../../helpers/cli.js";
import { blake3Of, session, startFilesServer, startFilesServerWithout } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Applies an encoded recipe to `base`: what a receiver builds. */
async function applyRecipe(base: Buffer, recipe: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const decoder = new RecipeDecoder({
    copy: async (at, length) => void out.push(base.subarray(at, at + length)),
    data: async (bytes) => void out.push(Buffer.from(bytes)),
  });
  for (const piece of recipe) await decoder.push(piece);
  decoder.end();
  return Buffer.concat(out);
}

/** The bench's update: 100 scattered 64 KiB blocks rewritten and 1 MiB inserted near the start. */
function benchEdit(old: Buffer): { next: Buffer; changed: number } {
  const next = Buffer.from(old);
  for (let k = 0; k < 100; k += 1) randomBytes(64 * KiB).copy(next, Math.floor(((k + 0.5) / 100) * (old.length - 64 * KiB)));
  const at = 3 * MiB + 12_345;
  return { next: Buffer.concat([next.subarray(0, at), randomBytes(MiB), next.subarray(at)]), changed: 100 * 64 * KiB + MiB };
}

/**
 * Stores as `name` a new version of a random file of `size` bytes (8 KiB rewritten at 1 MiB), and writes the old
 * version as the local copy a get would update.
 */
async function storedOverOlderCopy(files: FilesClient, dir: string, name: string, size: number): Promise<{ old: Buffer; next: Buffer; copy: string }> {
  const old = randomBytes(size);
  const next = Buffer.from(old);
  randomBytes(8 * KiB).copy(next, MiB);
  writeFileSync(join(dir, "src"), next);
  await files.put(join(dir, "src"), name);
  const copy = join(dir, "copy");
  writeFileSync(copy, old);
  return { old, next, copy };
}

describe("delta get in blocks (issue 15)", () => {
  test("a get onto an older copy sends little more than what changed, and builds the new file bit for bit", async (t) => {
    const { url } = await startFilesServer(t);
    const { files } = await session(t, url);
    const dir = tempDir(t);
    const old = randomBytes(48 * MiB);
    const { next, changed } = benchEdit(old);
    writeFileSync(join(dir, "src"), next);
    await files.put(join(dir, "src"), "big.bin");
    writeFileSync(join(dir, "copy"), old);
    const progress: number[] = [];
    const got = await files.get("big.bin", join(dir, "copy"), { onProgress: ({ done }) => progress.push(done) });
    assert.deepEqual(readFileSync(join(dir, "copy")), next);
    assert.equal(got.hash, blake3Of(next));
    // A rewritten 64 KiB that does not start on a block boundary spoils the two blocks it overlaps. The insertion
    // costs itself, the block it falls in and, since a scan past DENSE_SCAN looks at every SPARSE_STRIDE-th
    // position only, up to that many blocks more before the old content is found again.
    const bound = 100 * 2 * BLOCK_SIZE + MiB + (1 + SPARSE_STRIDE) * BLOCK_SIZE;
    assert.ok(got.sent >= changed * 0.9 && got.sent <= bound, `sent ${got.sent} for ${changed} changed bytes`);
    assert.equal(progress.at(-1), next.length, "progress reaches the whole file");
    assert.ok(progress.length > 2, "progress is told as the file is built");
  });

  test("a stored file changed behind the server's back fails the delta get with E_INTEGRITY, and the local copy is untouched", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { files } = await session(t, url);
    const { old, copy } = await storedOverOlderCopy(files, tempDir(t), "x.bin", 3 * MiB);
    // Bytes rewritten in place, size and mtime put back: nothing but the content says it changed.
    const stored = join(dataDir, "homes", "alice", "x.bin");
    const { mtime } = statSync(stored);
    const fd = openSync(stored, "r+");
    writeSync(fd, Buffer.from("not what was stored"), 0, 19, 2 * MiB);
    closeSync(fd);
    utimesSync(stored, mtime, mtime);
    const failed = await files.get("x.bin", copy).catch((err: unknown) => err);
    assert.ok(failed instanceof WharfError && failed.code === "E_INTEGRITY", String(failed));
    assert.deepEqual(readFileSync(copy), old, "the older copy is untouched");
  });

  test("more delta gets at once than the server searches for at once wait their turn, and each builds its file", async (t) => {
    const { url } = await startFilesServer(t);
    const { files } = await session(t, url);
    const dir = tempDir(t);
    const count = MAX_BLOCK_SEARCHES + 3;
    const versions = await Promise.all(
      Array.from({ length: count }, (_, k) => {
        mkdirSync(join(dir, `v${k}`));
        return storedOverOlderCopy(files, join(dir, `v${k}`), `c${k}.bin`, 6 * MiB);
      }),
    );
    // Each get on a connection of its own, all at once.
    const results = await Promise.all(
      versions.map(async ({ copy }, k) => {
        const own = await session(t, url);
        return own.files.get(`c${k}.bin`, copy);
      }),
    );
    for (const [k, { next, copy }] of versions.entries()) {
      assert.deepEqual(readFileSync(copy), next, `copy ${k}`);
      assert.ok(results[k].sent <= 2 * BLOCK_SIZE, `copy ${k}: sent ${results[k].sent}`);
    }
  });

  test("a server from before block lists sends the file whole, and the copy is still right", async (t) => {
    const { url } = await startFilesServerWithout(t, [], { [FileRequest.GET]: ["deltaBlocks", "block", "baseSize"] });
    const { files } = await session(t, url);
    const { next, copy } = await storedOverOlderCopy(files, tempDir(t), "f.bin", 2 * MiB);
    const got = await files.get("f.bin", copy);
    assert.equal(got.sent, next.length);
    assert.deepEqual(readFileSync(copy), next);
  });

  test("a client from before block lists still gets a delta in content-defined chunks", async (t) => {
    const { url } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const dir = tempDir(t);
    const old = randomBytes(3 * MiB);
    const next = Buffer.concat([old.subarray(0, MiB), randomBytes(10 * KiB), old.subarray(MiB)]);
    writeFileSync(join(dir, "src"), next);
    await files.put(join(dir, "src"), "c.bin");
    const list = encodeChunkList(chunkBuffer(old, "blake3"));
    const reply = await conn.requestStream(FileRequest.GET, { path: "c.bin", offset: 0, hashes: ["blake3"], delta: "blake3" }, list);
    assert.equal(reply.header.delta, true);
    const recipe: Buffer[] = [];
    for await (const chunk of reply.body) recipe.push(chunk as Buffer);
    assert.deepEqual(await applyRecipe(old, recipe), next);
    assert.ok(Number(reply.header.literal) < 600 * KiB, `literal ${String(reply.header.literal)}`);
  });

  test("the recipe comes in intermediate frames that name the file first; a resumed get's recipe starts at its offset", async (t) => {
    const { url } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const dir = tempDir(t);
    const old = randomBytes(5 * MiB);
    const next = Buffer.from(old);
    randomBytes(100 * KiB).copy(next, 4 * MiB);
    writeFileSync(join(dir, "src"), next);
    const put = await files.put(join(dir, "src"), "r.bin");
    const list = blockListOf(old, await createBlockHasher("xxh128"));
    const fields = { path: "r.bin", hashes: ["blake3"], deltaBlocks: "xxh128", block: BLOCK_SIZE, baseSize: old.length };
    for (const offset of [0, 2 * MiB]) {
      const frames: { header: Record<string, unknown>; body: Buffer }[] = [];
      const reply = await conn.requestStream(FileRequest.GET, { ...fields, offset, hash: put.hash }, list, {
        onFrame: (header, body) => void frames.push({ header, body: Buffer.from(body) }),
      });
      assert.equal(frames[0].header.delta, "blocks");
      assert.equal(frames[0].header.fileSize, next.length);
      assert.equal(frames[0].header.offset, offset);
      assert.equal(frames[0].header.hash, put.hash);
      assert.equal(reply.header.delta, "blocks");
      const built = await applyRecipe(old, frames.slice(1).map((frame) => frame.body));
      assert.deepEqual(built, next.subarray(offset));
      assert.ok(Number(reply.header.literal) <= 100 * KiB + 2 * BLOCK_SIZE, `literal ${String(reply.header.literal)}`);
    }
  });

  test("a malformed block list is refused with E_INVALID_PARAMS, and the connection goes on serving (property)", async (t) => {
    const { url } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const dir = tempDir(t);
    const stored = randomBytes(MiB);
    writeFileSync(join(dir, "src"), stored);
    await files.put(join(dir, "src"), "m.bin");
    const good = blockListOf(stored, await createBlockHasher("xxh128"));
    const ask = async (fields: Record<string, unknown>, body: Buffer): Promise<unknown> => {
      const reply = await conn.requestStream(FileRequest.GET, { path: "m.bin", offset: 0, hashes: ["blake3"], deltaBlocks: "xxh128", ...fields }, body, { onFrame: () => {} }).catch((err: unknown) => err);
      if (!(reply instanceof Error)) for await (const _ of (reply as { body: AsyncIterable<unknown> }).body);
      return reply;
    };
    const refused = (err: unknown): boolean => err instanceof WharfError && err.code === "E_INVALID_PARAMS";
    assert.ok(refused(await ask({ baseSize: stored.length }, good)), "no block size");
    assert.ok(refused(await ask({ block: BLOCK_SIZE }, good)), "no base size");
    assert.ok(refused(await ask({ block: 16, baseSize: stored.length }, good)), "blocks below the fingerprint");
    assert.ok(refused(await ask({ block: 64 * MiB, baseSize: stored.length }, good)), "blocks past the search's buffer");
    assert.ok(refused(await ask({ block: BLOCK_SIZE, baseSize: 2 * BLOCK_SIZE }, good)), "more blocks than the base has");
    assert.ok(refused(await ask({ block: BLOCK_SIZE, baseSize: stored.length }, good.subarray(0, 30))), "a list cut inside an entry");
    assert.ok(refused(await ask({ block: BLOCK_SIZE, baseSize: 1e15 }, Buffer.alloc(MAX_GET_BLOCK_LIST + 20))), "a list past its limit");
    // A client from before block lists sends a chunk list instead (36 bytes an entry): a cut one is refused alike.
    const chunks = await conn.requestStream(FileRequest.GET, { path: "m.bin", offset: 0, hashes: ["blake3"], delta: "blake3" }, Buffer.alloc(740)).catch((err: unknown) => err);
    assert.ok(refused(chunks), String(chunks));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 * MiB }), fc.integer({ min: 0, max: 4 * MiB }), fc.uint8Array({ minLength: 1, maxLength: 400 }), async (block, baseSize, list) => {
        const reply = await ask({ block, baseSize }, Buffer.from(list));
        // Anything the server accepts is a recipe against some base; what it refuses, it refuses as the client's error.
        assert.ok(!(reply instanceof Error) || refused(reply), String(reply));
      }),
      { numRuns: 40 },
    );
    const after = await files.get("m.bin", join(dir, "after"), { delta: false });
    assert.equal(after.size, stored.length, "the connection still serves");
  });

  test("a list made to keep the server's search hashing (one fingerprint the stored file has everywhere) still gets its answer", { timeout: 120_000 }, async (t) => {
    const { url } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const dir = tempDir(t);
    const zeros = Buffer.alloc(8 * MiB);
    writeFileSync(join(dir, "zeros"), zeros);
    await files.put(join(dir, "zeros"), "zeros.bin");
    const count = 20_000;
    const list = Buffer.alloc(count * 20);
    for (let k = 0; k < count; k += 1) {
      list.writeInt32BE(fingerprint(zeros, BLOCK_SIZE), k * 20);
      randomBytes(16).copy(list, k * 20 + 4);
    }
    const frames: Buffer[] = [];
    const reply = await conn.requestStream(FileRequest.GET, { path: "zeros.bin", offset: 0, hashes: ["blake3"], deltaBlocks: "xxh128", block: BLOCK_SIZE, baseSize: count * BLOCK_SIZE }, list, {
      onFrame: (_header, body) => void frames.push(Buffer.from(body)),
    });
    assert.equal(reply.header.literal, zeros.length, "nothing matched: the whole file came as DATA");
    assert.deepEqual(await applyRecipe(Buffer.alloc(0), frames.slice(1)), zeros);
  });

  test("a base too large for a list of 64 KiB blocks is listed in larger ones", () => {
    assert.equal(downloadBlockSize(MiB), BLOCK_SIZE);
    const entries = Math.floor(MAX_GET_BLOCK_LIST / 20); // 4 bytes of fingerprint and 16 of XXH3-128 each
    assert.equal(downloadBlockSize(entries * BLOCK_SIZE), BLOCK_SIZE);
    assert.equal(downloadBlockSize(entries * BLOCK_SIZE + 1), 2 * BLOCK_SIZE);
    assert.equal(downloadBlockSize(2 ** 50), null, "past the largest block: sent whole");
  });
});
