import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { chunkFile } from "../../../src/services/files/chunker.js";
import { chunksOfList, encodeChunkList } from "../../../src/services/files/delta-ops.js";
import { createContentHash, hashBytes, type HashAlgorithm } from "../../../src/services/files/hash.js";
import { ChunkListCache, type ChunkLister } from "../../../src/services/files/delta-list-cache.js";
import { tempDir } from "../../helpers/cli.js";

const MiB = 1024 * 1024;

/** A lister that counts the passes it makes. */
function countingLister(): { lister: ChunkLister; passes: () => number } {
  let passes = 0;
  return {
    lister: (file, size, algorithm, whole) => {
      passes += 1;
      return chunkFile(file, 0, size, algorithm as HashAlgorithm, whole).then(encodeChunkList);
    },
    passes: () => passes,
  };
}

describe("the server's cache of base chunk lists (issue 15)", () => {
  test("an unchanged base is listed once, later uploads get the same list from memory", async (t) => {
    const dir = tempDir(t);
    const path = join(dir, "base");
    const data = randomBytes(3 * MiB);
    writeFileSync(path, data);
    const { lister, passes } = countingLister();
    const cache = new ChunkListCache({ lister });
    const first = await open(path);
    t.after(() => first.close());
    const listed = await cache.listing(first, "blake3");
    const second = await open(path);
    t.after(() => second.close());
    const again = await cache.listing(second, "blake3");
    assert.equal(passes(), 1);
    assert.equal(listed.fresh, true);
    assert.equal(again.fresh, false);
    assert.deepEqual({ ...again, fresh: true }, listed);
    assert.deepEqual(listed.list, encodeChunkList(await chunkFile(first, 0, data.length, "blake3")));
    assert.equal(listed.size, data.length);
    await cache.listing(second, "sha256");
    assert.equal(passes(), 2, "another algorithm is another list");
  });

  test("a listing pass feeds every byte to the whole-file hash it is given; one from memory feeds nothing", async (t) => {
    const dir = tempDir(t);
    const path = join(dir, "stored");
    const data = randomBytes(3 * MiB + 12_345);
    writeFileSync(path, data);
    const cache = new ChunkListCache();
    const file = await open(path);
    t.after(() => file.close());
    const whole = createContentHash("blake3");
    assert.equal((await cache.listing(file, "blake3", whole)).fresh, true);
    assert.equal(whole.digest(), hashBytes("blake3", data).toString("hex"));
    let fed = 0;
    const listed = await cache.listing(file, "blake3", { update: (bytes: Uint8Array) => void (fed += bytes.length) });
    assert.equal(listed.fresh, false);
    assert.equal(fed, 0);
    assert.deepEqual(
      chunksOfList(listed.list).map(({ offset, length }) => [offset, length]),
      (await chunkFile(file, 0, data.length, "blake3")).map(({ offset, length }) => [offset, length]),
    );
  });

  test("a base rewritten under the same name, even to the same size, is listed afresh", async (t) => {
    const dir = tempDir(t);
    const path = join(dir, "base");
    writeFileSync(path, randomBytes(2 * MiB));
    const { lister, passes } = countingLister();
    const cache = new ChunkListCache({ lister });
    const before = await open(path);
    t.after(() => before.close());
    const old = await cache.listing(before, "blake3");
    const next = randomBytes(2 * MiB);
    // File times come from the kernel's coarse clock (a tick of 1-4 ms): a rewrite in the same tick keeps ctime,
    // and the cache would rightly not know (the commit's whole-file hash catches that case). Step past a tick.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const writer = await open(path, "r+");
    await writer.write(next, 0, next.length, 0);
    await writer.close();
    const after = await open(path);
    t.after(() => after.close());
    const fresh = await cache.listing(after, "blake3");
    assert.equal(passes(), 2);
    assert.notDeepEqual(fresh.list, old.list);
    assert.deepEqual(fresh.list, encodeChunkList(await chunkFile(after, 0, next.length, "blake3")));
  });

  test("it keeps the most recently used lists only, and none with capacity 0", async (t) => {
    const dir = tempDir(t);
    const files = await Promise.all(
      [0, 1, 2].map(async (i) => {
        writeFileSync(join(dir, `f${i}`), randomBytes(300 * 1024));
        const file = await open(join(dir, `f${i}`));
        t.after(() => file.close());
        return file;
      }),
    );
    const { lister, passes } = countingLister();
    const cache = new ChunkListCache({ capacity: 2, lister });
    await cache.listing(files[0], "blake3");
    await cache.listing(files[1], "blake3");
    await cache.listing(files[0], "blake3"); // f0 is now the most recent
    await cache.listing(files[2], "blake3"); // evicts f1
    assert.equal(passes(), 3);
    await cache.listing(files[0], "blake3");
    assert.equal(passes(), 3, "f0 was kept");
    await cache.listing(files[1], "blake3");
    assert.equal(passes(), 4, "f1 was evicted");
    const none = new ChunkListCache({ capacity: 0, lister });
    await none.listing(files[0], "blake3");
    await none.listing(files[0], "blake3");
    assert.equal(passes(), 6);
    assert.throws(() => new ChunkListCache({ capacity: -1 }), RangeError);
  });
});
