/**
 * Block lists made while a file is stored (issue 15, block-recorder.ts): the list a recorder makes of bytes given in
 * any pieces, in its memory or not, is the list of the whole file; a server keeps the list of each big file it
 * stores, plain or built by a delta, and the first delta put onto that version starts from it without reading the
 * file; a version changed behind its back is read again.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createBlockHasher } from "../../../src/services/files/block-hash.js";
import { BlockRecorder, MAX_RECORDERS, RECORDER_AREA } from "../../../src/services/files/block-recorder.js";
import { BLOCK_SIZE, blockListOf } from "../../../src/services/files/delta-blocks.js";
import { FileRequest } from "../../../src/services/files/index.js";
import { RecentMap } from "../../../src/services/files/file-version.js";
import { tempDir } from "../../helpers/cli.js";
import { session, startFilesServer } from "./helpers.js";

const MiB = 1024 * 1024;

describe("block lists made as files are stored", () => {
  test("a recorder's list is the file's block list, whatever the pieces and wherever they lie (property)", async () => {
    const xxh = await createBlockHasher("xxh128");
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 60_000 }),
        fc.integer({ min: 32, max: 5_000 }),
        fc.array(fc.record({ length: fc.integer({ min: 0, max: 12_000 }), inArea: fc.boolean(), at: fc.nat({ max: 1_000 }) }), { minLength: 1, maxLength: 20 }),
        async (data, block, pieces) => {
          const recorder = await BlockRecorder.create(data.length, block);
          assert.ok(recorder !== null, "the WebAssembly hash loads here");
          for (let at = 0, k = 0; at < data.length; k += 1) {
            const { length, inArea, at: offset } = pieces[k % pieces.length];
            const piece = data.subarray(at, Math.min(data.length, at + Math.max(1, length)));
            if (inArea) {
              // A writer's buffer lent from the recorder's memory, at any offset in it; overwritten once given.
              const lent = recorder.area.subarray(offset, offset + piece.length);
              lent.set(piece);
              recorder.update(lent);
              lent.fill(0xee);
            } else {
              recorder.update(Buffer.from(piece));
            }
            at += piece.length;
          }
          assert.equal(recorder.bytes, data.length);
          assert.deepEqual(recorder.finish(), blockListOf(data, xxh, block));
          recorder.release();
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a recorder refuses more bytes than its file has, and a list before the last byte", async () => {
    const recorder = (await BlockRecorder.create(100, 64))!;
    recorder.update(Buffer.alloc(60));
    assert.throws(() => recorder.finish(), RangeError);
    assert.throws(() => recorder.update(Buffer.alloc(41)), RangeError);
    assert.equal(recorder.area.length, RECORDER_AREA);
    recorder.release();
  });

  test("at most MAX_RECORDERS are alive at once, made together or not; one released makes room, once", async () => {
    assert.equal(BlockRecorder.live, 0, "every test before gave its recorders back");
    const made = await Promise.all(Array.from({ length: MAX_RECORDERS + 3 }, () => BlockRecorder.create(1_000, 64)));
    const alive = made.filter((recorder) => recorder !== null);
    assert.equal(alive.length, MAX_RECORDERS);
    assert.equal(BlockRecorder.live, MAX_RECORDERS);
    assert.equal(await BlockRecorder.create(1_000, 64), null, "past the bound, none is made");
    alive[0]!.release();
    alive[0]!.release(); // twice is once
    const again = await BlockRecorder.create(1_000, 64);
    assert.ok(again !== null);
    assert.equal(await BlockRecorder.create(1_000, 64), null);
    for (const recorder of [again, ...alive.slice(1)]) recorder!.release();
    assert.equal(BlockRecorder.live, 0);
  });

  test("uploads begun past MAX_RECORDERS are not recorded, and each recorder is given back when its upload ends", async (t) => {
    const { url } = await startFilesServer(t);
    const begin = async (conn: Awaited<ReturnType<typeof session>>["conn"], name: string): Promise<string> =>
      String((await conn.request(FileRequest.PUT_BEGIN, { path: name, fileSize: 16 * 1024 * 1024, stamp: "s", hashes: ["blake3"] })).header.upload);
    const first = await session(t, url);
    for (let k = 0; k < MAX_RECORDERS + 3; k += 1) await begin(first.conn, `big${k}.bin`);
    assert.equal(BlockRecorder.live, MAX_RECORDERS, "the server holds no more recorders than its bound");
    first.conn.destroy(); // its uploads end with it
    for (const deadline = Date.now() + 10_000; BlockRecorder.live > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(BlockRecorder.live, 0, "every ended upload gave its recorder back");
    const second = await session(t, url);
    const upload = await begin(second.conn, "again.bin");
    assert.equal(BlockRecorder.live, 1, "an upload begun then is recorded again");
    await second.conn.request(FileRequest.PUT_ABORT, { upload });
    assert.equal(BlockRecorder.live, 0);
  });

  test("a recent map held to a weight forgets the oldest entries past it, and keeps none heavier than it", () => {
    const map = new RecentMap<Buffer>(10, { of: (value) => value.length, max: 100 });
    map.set("a", Buffer.alloc(40));
    map.set("b", Buffer.alloc(40));
    map.get("a");
    map.set("c", Buffer.alloc(40)); // 120: b, the least recently used, goes
    assert.deepEqual(["a", "b", "c"].map((key) => map.get(key) !== undefined), [true, false, true]);
    map.set("c", Buffer.alloc(10)); // renewed lighter: 50
    map.set("d", Buffer.alloc(50));
    assert.deepEqual(["a", "c", "d"].map((key) => map.get(key) !== undefined), [true, true, true]);
    map.set("e", Buffer.alloc(101));
    assert.equal(map.get("e"), undefined, "heavier than the whole allowance");
    assert.ok(map.get("d") !== undefined);
  });

  test("a delta put onto a file the server stored starts from the list it made then; a file changed behind its back is read", async (t) => {
    const lists: string[] = [];
    const onFiles = (message: unknown): void => {
      const { event, from } = message as { event: string; from?: string };
      if (event === "base-list") lists.push(String(from));
    };
    subscribe("wharf:files", onFiles);
    t.after(() => unsubscribe("wharf:files", onFiles));
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const local = join(tempDir(t), "f");
    const stored = join(dataDir, "homes", "alice", "f.bin");
    const base = randomBytes(9 * MiB + 1000);
    writeFileSync(local, base);
    await files.put(local, "f.bin");

    // The list as the protocol gives it: whole in the reply (nothing streamed while a file is read), and the
    // file's block list, as listing it would make it.
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "f.bin", fileSize: base.length, stamp: "x", hashes: ["blake3"], delta: true });
    let streamed = 0;
    const reply = await conn.request(FileRequest.PUT_CHUNKS, { upload: begun.header.upload, blocks: true, blockHash: "xxh128" }, undefined, { onFrame: () => void (streamed += 1) });
    assert.equal(streamed, 0, "no part streamed: the list came from memory");
    assert.equal(reply.header.chunks, Math.ceil(base.length / BLOCK_SIZE));
    assert.deepEqual(reply.body, blockListOf(base, await createBlockHasher("xxh128")));
    assert.deepEqual(lists, ["memory"]);
    await conn.request(FileRequest.PUT_ABORT, { upload: begun.header.upload });

    // A delta put through the client: from memory, and the version it builds is listed as it is built.
    const next = Buffer.concat([base.subarray(0, 3 * MiB), randomBytes(5000), base.subarray(3 * MiB + 70_000)]);
    writeFileSync(local, next);
    const second = await files.put(local, "f.bin");
    assert.ok(second.sent < 4 * BLOCK_SIZE, `sent ${second.sent}`);
    assert.deepEqual(readFileSync(stored), next);
    const third = Buffer.from(next);
    randomBytes(2000).copy(third, 6 * MiB);
    writeFileSync(local, third);
    const again = await files.put(local, "f.bin");
    assert.ok(again.sent < 3 * BLOCK_SIZE, `sent ${again.sent}`);
    assert.deepEqual(readFileSync(stored), third);
    assert.deepEqual(lists, ["memory", "memory", "memory"]);

    // The stored file changed behind the server's back (same size, its mtime put back): its ctime moved, so it
    // is read and listed again, and the put still lands the right bytes.
    const changed = readFileSync(stored);
    changed[BLOCK_SIZE * 5] ^= 0xff;
    const { atime, mtime } = statSync(stored);
    writeFileSync(stored, changed);
    utimesSync(stored, atime, mtime);
    const fourth = Buffer.from(third);
    fourth[100] ^= 0xff;
    writeFileSync(local, fourth);
    const fourthPut = await files.put(local, "f.bin");
    assert.ok(fourthPut.sent < 3 * BLOCK_SIZE, `sent ${fourthPut.sent}`);
    assert.deepEqual(readFileSync(stored), fourth);
    assert.deepEqual(lists, ["memory", "memory", "memory", "file"]);
  });
});
