import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { xxhash128 } from "hash-wasm";
import { WharfError } from "../../../src/client/index.js";
import { createBlockHasher, type BlockHashName } from "../../../src/services/files/block-hash.js";
import { MAX_CHUNK } from "../../../src/services/files/chunker.js";
import { BlockMatcher } from "../../../src/services/files/delta-block-match.js";
import { BLOCK_SIZE, BlockIndex, blockListOf, fingerprint, MAX_FINGERPRINT_CHAIN } from "../../../src/services/files/delta-blocks.js";
import { sendDelta } from "../../../src/services/files/delta-send.js";
import { encodeCopy, encodeDataHead, pushCopy, pushData, type Step } from "../../../src/services/files/delta-ops.js";
import { createRoller, rollToCandidate } from "../../../src/services/files/delta-roller.js";
import { wasmChunkerAvailable } from "../../../src/services/files/chunker-wasm.js";
import { createContentHash } from "../../../src/services/files/hash.js";
import { FileRequest } from "../../../src/services/files/index.js";
import { tempDir } from "../../helpers/cli.js";
import { blake3Of, session, startFilesServer, startFilesServerWithout } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** The steps a block search over `next` decides against `base`'s list (blocks of `block` bytes), fed `read` bytes at a time. */
async function search(
  base: Buffer,
  next: Buffer,
  options: { block: number; read: number; kind: "wasm" | "js"; hash?: BlockHashName; denseScan?: number; stride?: number; farScan?: number; farStride?: number },
): Promise<Step[]> {
  const roller = createRoller(options.read + 2 * options.block, options.kind);
  const hasher = await createBlockHasher(options.hash ?? "xxh128", roller.hasherHome);
  const index = new BlockIndex(options.block, base.length, roller.bits, hasher.bytes);
  index.add(blockListOf(base, await createBlockHasher(options.hash ?? "xxh128"), options.block));
  index.finish();
  const steps: Step[] = [];
  const matcher = new BlockMatcher(index, roller, hasher, 0, { copy: (at, n) => pushCopy(steps, at, n), data: (at, n) => pushData(steps, at, n) }, {
    lookahead: 0,
    denseScan: options.denseScan,
    stride: options.stride,
    farScan: options.farScan,
    farStride: options.farStride,
  });
  let bufferStart = 0;
  let filled = 0;
  for (let position = 0; ; ) {
    const take = Math.min(roller.buffer.length - filled, next.length - position);
    next.copy(roller.buffer, filled, position, position + take);
    filled += take;
    position += take;
    const atEnd = position >= next.length;
    const keep = await matcher.feed(roller.buffer.subarray(0, filled), bufferStart, atEnd);
    if (atEnd) break;
    roller.buffer.copyWithin(0, keep - bufferStart, filled);
    filled -= keep - bufferStart;
    bufferStart = keep;
  }
  assert.equal(matcher.position, next.length, "every byte decided");
  return steps;
}

/** The file `steps` build from `base` and `next` (DATA ranges are `next`'s bytes), and the bytes sent as DATA. */
function build(base: Buffer, next: Buffer, steps: Step[]): { built: Buffer; literal: number } {
  let literal = 0;
  let covered = 0;
  const parts: Buffer[] = [];
  for (const step of steps) {
    if (step.copy) parts.push(base.subarray(step.baseOffset, step.baseOffset + step.length));
    else {
      assert.equal(step.offset, covered, "DATA steps take the new file's bytes where they are");
      literal += step.length;
      parts.push(next.subarray(step.offset, step.offset + step.length));
    }
    covered += step.length;
  }
  return { built: Buffer.concat(parts), literal };
}

const edit = fc.record({
  kind: fc.constantFrom("insert", "delete", "overwrite", "move"),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  from: fc.double({ min: 0, max: 1, noNaN: true }),
  length: fc.integer({ min: 1, max: 20 * KiB }),
});

function applyEdits(base: Buffer, edits: readonly { kind: string; at: number; from: number; length: number }[]): Buffer {
  let next = Buffer.from(base);
  for (const { kind, at: where, from, length } of edits) {
    const at = Math.floor(where * next.length);
    if (kind === "insert") next = Buffer.concat([next.subarray(0, at), randomBytes(length), next.subarray(at)]);
    else if (kind === "delete") next = Buffer.concat([next.subarray(0, at), next.subarray(at + length)]);
    else if (kind === "overwrite") randomBytes(Math.min(length, next.length - at)).copy(next, at);
    else {
      const start = Math.floor(from * next.length);
      next = Buffer.concat([next.subarray(0, at), Buffer.from(next.subarray(start, start + length)), next.subarray(at)]);
    }
  }
  return next;
}

describe("delta puts in blocks (issue 15)", () => {
  test("a block search rebuilds the new file bit for bit from any edits, in WebAssembly and JavaScript alike (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 200 * KiB }),
        fc.array(edit, { maxLength: 6 }),
        fc.constantFrom(64, 1000, 4 * KiB),
        fc.integer({ min: 1, max: 40 * KiB }),
        fc.constantFrom(0, 500, 1 << 30),
        fc.constantFrom(1, 3, 7),
        fc.constantFrom(0, 3000, 1 << 30),
        fc.constantFrom(31, 33, 63),
        fc.constantFrom<BlockHashName>("xxh128", "xxh128", "blake3"),
        async (size, edits, block, read, denseScan, stride, farScan, farStride, hash) => {
          const base = randomBytes(size);
          const next = applyEdits(base, edits);
          const found: Step[][] = [];
          // The WebAssembly roller hashes xxh128 blocks in its own memory, the JavaScript one with hash-wasm.
          for (const kind of ["wasm", "js"] as const) {
            const steps = await search(base, next, { block, read, kind, hash, denseScan, stride, farScan, farStride });
            assert.ok(build(base, next, steps).built.equals(next), `${kind}: the steps build the new file`);
            found.push(steps);
          }
          assert.deepEqual(found[0], found[1], "both rollers decide alike");
        },
      ),
      { numRuns: 150 },
    );
  });

  test("a block search sends little more than what changed: an overwrite, an insertion, a deletion and a moved range", async () => {
    const block = 4 * KiB;
    const base = randomBytes(2 * MiB);
    const moved = Buffer.concat([base.subarray(MiB), base.subarray(0, MiB)]); // the halves swapped
    const next = Buffer.concat([moved.subarray(0, 300 * KiB), randomBytes(100), moved.subarray(300 * KiB, 900 * KiB), moved.subarray(905 * KiB)]);
    randomBytes(2 * KiB).copy(next, 1500 * KiB);
    for (const [denseScan, stride] of [[1 << 30, 1], [0, 7]]) {
      const { built, literal } = build(base, next, await search(base, next, { block, read: 256 * KiB, kind: "wasm", denseScan, stride, farScan: 1 << 30 }));
      assert.ok(built.equals(next));
      // The insertion and the deletion cost up to a block each, the overwrite up to two, each seam up to a block;
      // looking at every 7th position only, each run may be found up to 7 blocks late.
      const allowed = stride === 1 ? 100 + 2 * KiB + 8 * block : 100 + 2 * KiB + 8 * block + 6 * 7 * block;
      assert.ok(literal <= allowed, `stride ${stride}: ${literal} bytes sent, at most ${allowed}`);
    }
    const unrelated = randomBytes(MiB);
    const { literal } = build(base, unrelated, await search(base, unrelated, { block, read: 256 * KiB, kind: "wasm" }));
    assert.equal(literal, unrelated.length, "nothing in common: all of it is sent");
  });

  test("the WebAssembly scan stops where the JavaScript one does, with the same fingerprint (property)", { skip: wasmChunkerAvailable() ? false : "no WebAssembly" }, () => {
    const wasm = createRoller(5000, "wasm");
    assert.equal(wasm.kind, "wasm");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.integer(), { maxLength: 50 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (bytes, prints, stride, start) => {
        const bits = new Int32Array(wasm.bits.length);
        for (const print of prints) bits[print >>> 13] |= 1 << ((print >>> 8) & 31);
        // Some prints the data really reaches, so that the scans stop on the way.
        for (let i = 32; i < bytes.length; i += 700) {
          const print = fingerprint(bytes, i);
          bits[print >>> 13] |= 1 << ((print >>> 8) & 31);
        }
        wasm.bits.set(bits);
        wasm.buffer.set(bytes);
        wasm.print = start;
        const state = { print: start };
        for (let at = 0, js = 0; at < bytes.length || js < bytes.length; ) {
          at = wasm.roll(at, bytes.length, stride);
          js = rollToCandidate(bytes, js, bytes.length, stride, bits, state);
          assert.equal(at, js);
          assert.equal(wasm.print, state.print);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("a block index refuses a list that does not fit its base, and a scan past it finds nothing", async () => {
    const base = randomBytes(3 * KiB + 10);
    const list = blockListOf(base, await createBlockHasher("blake3"), KiB);
    assert.equal(list.length, 3 * 36, "three full blocks; the 10-byte tail is under 32 bytes and not listed");
    assert.equal(blockListOf(base, await createBlockHasher("xxh128"), KiB).length, 3 * 20, "xxh128 entries are 4 + 16 bytes");
    assert.throws(() => new BlockIndex(KiB, base.length, undefined, 16).add(list), /multiple of 20/);
    assert.throws(() => new BlockIndex(KiB, base.length).add(list.subarray(0, 50)), RangeError);
    assert.throws(() => new BlockIndex(KiB, 2 * KiB).add(list), /has no block 2/);
    assert.throws(() => new BlockIndex(16, 100), RangeError);
    assert.throws(() => new BlockIndex(KiB, -1), RangeError);
    const index = new BlockIndex(KiB, base.length);
    index.add(list);
    assert.equal(index.count, 3);
    assert.ok(index.mayHave(fingerprint(base, KiB)));
  });

  test("a list whose blocks all share the fingerprint of the file's content costs the scan a bounded number of hashes", async () => {
    // A file of zeros: every position's fingerprint is the zero block's. The list names that fingerprint for every
    // block, each with a hash the file never has (what another side could send to keep a scan hashing).
    const block = 4 * KiB;
    const next = Buffer.alloc(MiB);
    const count = 2_000;
    const list = Buffer.alloc(count * 20);
    for (let k = 0; k < count; k += 1) {
      list.writeInt32BE(fingerprint(next, block), k * 20);
      randomBytes(16).copy(list, k * 20 + 4);
    }
    const roller = createRoller(MiB + 2 * block);
    const hasher = await createBlockHasher("xxh128", roller.hasherHome);
    let digests = 0;
    const counted = { ...hasher, digest: (data: Uint8Array) => ((digests += 1), hasher.digest(data)) };
    const index = new BlockIndex(block, count * block, roller.bits, 16);
    index.add(list);
    index.finish();
    assert.ok(index.mayHave(fingerprint(next, block)));
    const steps: Step[] = [];
    const maxFalseHits = 500;
    const matcher = new BlockMatcher(index, roller, counted, 0, { copy: (at, n) => pushCopy(steps, at, n), data: (at, n) => pushData(steps, at, n) }, { lookahead: 0, maxFalseHits });
    next.copy(roller.buffer);
    await matcher.feed(roller.buffer.subarray(0, next.length), 0, true);
    assert.equal(matcher.position, next.length);
    assert.deepEqual(steps, [{ copy: false, offset: 0, length: next.length }], "nothing matched: all of it is DATA");
    // Without the bounds: a hash per listed block at each of the scan's positions (2,000 x 256 Ki of them).
    assert.ok(digests <= maxFalseHits + 1 + 4, `${digests} hashes`);
  });

  test("a block index links each content of a fingerprint once, and at most MAX_FINGERPRINT_CHAIN of them", () => {
    const index = new BlockIndex(KiB, 100 * KiB, undefined, 16);
    const list = Buffer.alloc(100 * 20);
    const same = randomBytes(16);
    for (let k = 0; k < 100; k += 1) {
      list.writeInt32BE(12345, k * 20);
      (k < 50 ? same : randomBytes(16)).copy(list, k * 20 + 4); // 50 alike, then 50 of other contents
    }
    index.add(list);
    const linked: number[] = [];
    for (let k = index.firstWith(12345); k >= 0; k = index.nextWith(k)) linked.push(k);
    assert.equal(linked.length, MAX_FINGERPRINT_CHAIN);
    assert.ok(linked.includes(0) && !linked.some((k) => k > 0 && k < 50), "of the alike blocks, the first only");
    assert.ok(index.matches(77, list.subarray(77 * 20 + 4, 78 * 20)), "a block left out of the chain is still listed (found after a match)");
  });

  test("files.put.chunks with blocks streams the block list while it reads the stored file", async (t) => {
    const { url } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const dir = tempDir(t);
    const base = randomBytes(9 * MiB + 1000);
    writeFileSync(join(dir, "f"), base);
    await files.put(join(dir, "f"), "f.bin");
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "f.bin", fileSize: base.length, stamp: "x", hashes: ["blake3"], delta: true });
    const frames: { header: Record<string, unknown>; body: Buffer }[] = [];
    const final = await conn.request(FileRequest.PUT_CHUNKS, { upload: begun.header.upload, blocks: true }, undefined, {
      onFrame: (header, body) => void frames.push({ header, body: Buffer.from(body) }),
    });
    assert.ok(frames.length >= 2, `${frames.length} frames before the last`);
    for (const { header, body } of frames) {
      assert.equal(header.block, BLOCK_SIZE);
      assert.equal(header.baseSize, base.length);
      assert.equal(header.chunks, body.length / 36);
    }
    assert.equal(final.header.block, BLOCK_SIZE);
    assert.equal(final.header.chunks, Math.ceil(base.length / BLOCK_SIZE));
    assert.deepEqual(Buffer.concat([...frames.map((frame) => frame.body), final.body]), blockListOf(base, await createBlockHasher("blake3")));
    assert.equal(final.header.blockHash, "blake3", "no blockHash asked for: the upload's algorithm");

    // Asked for xxh128: 20-byte entries, XXH3-128 of each block, as hash-wasm computes it.
    const xxh: Buffer[] = [];
    const last = await conn.request(FileRequest.PUT_CHUNKS, { upload: begun.header.upload, blocks: true, blockHash: "xxh128" }, undefined, {
      onFrame: (header, body) => {
        assert.equal(header.blockHash, "xxh128");
        xxh.push(Buffer.from(body));
      },
    });
    assert.equal(last.header.blockHash, "xxh128");
    const listed = Buffer.concat([...xxh, last.body]);
    assert.equal(listed.length, Math.ceil(base.length / BLOCK_SIZE) * 20);
    for (const k of [0, 77, Math.ceil(base.length / BLOCK_SIZE) - 1]) {
      const block = base.subarray(k * BLOCK_SIZE, (k + 1) * BLOCK_SIZE);
      assert.equal(listed.readInt32BE(k * 20), fingerprint(block, block.length));
      assert.equal(listed.subarray(k * 20 + 4, k * 20 + 20).toString("hex"), await xxhash128(block), `block ${k}`);
    }
    // A name it does not know: the upload's algorithm, said so.
    const unknown = await conn.request(FileRequest.PUT_CHUNKS, { upload: begun.header.upload, blocks: true, blockHash: "md4" });
    assert.equal(unknown.header.blockHash, "blake3");
  });

  test("files.put.delta takes a recipe in slices, pipelined; a slice out of place, past the end or overfull is refused", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const dir = tempDir(t);
    const base = randomBytes(3 * MiB);
    writeFileSync(join(dir, "f"), base);
    await files.put(join(dir, "f"), "f.bin");
    const next = Buffer.concat([base.subarray(MiB), randomBytes(1000), base.subarray(0, MiB)]);
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "f.bin", fileSize: next.length, stamp: "s", hashes: ["blake3"], delta: true });
    const upload = begun.header.upload;
    const refused = async (header: Record<string, unknown>, body: Buffer): Promise<void> => {
      const err = await conn.request(FileRequest.PUT_DELTA, { upload, ...header }, body).catch((e: unknown) => e);
      assert.ok(err instanceof WharfError && err.code === "E_INVALID_PARAMS", `${JSON.stringify(header)}: ${String(err)}`);
    };
    await refused({ offset: 5, end: 10 }, encodeCopy(0, 5)); // not where the server is
    await refused({ offset: 0, end: next.length + 1 }, encodeCopy(0, 5)); // past the file's end
    // Refusals before a byte is built leave the upload as it was; the slices then go out without waiting.
    const slices = [
      conn.request(FileRequest.PUT_DELTA, { upload, offset: 0, end: 2 * MiB }, encodeCopy(MiB, 2 * MiB)),
      conn.request(FileRequest.PUT_DELTA, { upload, offset: 2 * MiB, end: 2 * MiB + 1000 }, Buffer.concat([encodeDataHead(1000), next.subarray(2 * MiB, 2 * MiB + 1000)])),
      conn.request(FileRequest.PUT_DELTA, { upload, offset: 2 * MiB + 1000 }, encodeCopy(0, MiB)),
    ];
    const [first, second, last] = await Promise.all(slices);
    assert.deepEqual([first.header.received, first.header.offset], [2 * MiB, 2 * MiB]);
    assert.deepEqual([second.header.received, second.header.offset], [1000, 2 * MiB + 1000]);
    assert.equal(last.header.hash, blake3Of(next));
    await conn.request(FileRequest.PUT_COMMIT, { upload, hash: blake3Of(next) });
    assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", "f.bin")), next);

    const again = await conn.request(FileRequest.PUT_BEGIN, { path: "f.bin", fileSize: 4 * MiB, stamp: "t", hashes: ["blake3"], delta: true });
    const overfull = await conn.request(FileRequest.PUT_DELTA, { upload: again.header.upload, offset: 0, end: MiB }, encodeCopy(0, 2 * MiB)).catch((e: unknown) => e);
    assert.ok(overfull instanceof WharfError && overfull.code === "E_INVALID_PARAMS" && /builds more than/.test(overfull.message), String(overfull));
  });

  test("a delta put in many slices, searched while the list still streams in, stores the new file", async (t) => {
    const { url, dataDir } = await startFilesServer(t);
    const { conn, files } = await session(t, url);
    const dir = tempDir(t);
    const base = randomBytes(12 * MiB);
    const next = applyEdits(base, [
      { kind: "insert", at: 0.1, from: 0, length: 5000 },
      { kind: "overwrite", at: 0.5, from: 0, length: 70 * KiB },
      { kind: "delete", at: 0.8, from: 0, length: 3000 },
    ]);
    const local = join(dir, "f");
    writeFileSync(local, base);
    await files.put(local, "f.bin");
    writeFileSync(local, next);
    const begun = await conn.request(FileRequest.PUT_BEGIN, { path: "f.bin", fileSize: next.length, stamp: "m", hashes: ["blake3"], delta: true });
    assert.equal(begun.header.delta, true);
    const whole = createContentHash("blake3");
    const file = await open(local);
    t.after(() => file.close());
    const outcome = await sendDelta(conn, file, String(begun.header.upload), 0, next.length, "blake3", whole, { tuning: { slice: 512 * KiB, lookahead: 256 * KiB } });
    assert.ok(outcome.literal < 6 * BLOCK_SIZE, `sent ${outcome.literal}`);
    const hash = `blake3:${whole.digest()}`;
    assert.equal(hash, blake3Of(next));
    await conn.request(FileRequest.PUT_COMMIT, { upload: begun.header.upload, hash });
    assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", "f.bin")), next);
  });

  test("a server from before block lists and recipe slices still gets a delta put, in content-defined chunks", async (t) => {
    const { url, dataDir, served } = await startFilesServerWithout(t, [], { [FileRequest.PUT_CHUNKS]: ["blocks"], [FileRequest.PUT_DELTA]: ["end"] });
    const { files } = await session(t, url);
    const dir = tempDir(t);
    const base = randomBytes(6 * MiB);
    const local = join(dir, "f");
    writeFileSync(local, base);
    await files.put(local, "f.bin");
    const next = applyEdits(base, [{ kind: "insert", at: 0.3, from: 0, length: 4000 }]);
    writeFileSync(local, next);
    const result = await files.put(local, "f.bin");
    // An insertion changes the chunk it falls in and perhaps one or two after it (of at most MAX_CHUNK each).
    assert.ok(result.sent <= 3 * MAX_CHUNK + 4000, `sent ${result.sent}`);
    assert.equal(served.filter((type) => type === FileRequest.PUT_DELTA).length, 1, "one recipe, to the end");
    assert.deepEqual(readFileSync(join(dataDir, "homes", "alice", "f.bin")), next);
  });
});
