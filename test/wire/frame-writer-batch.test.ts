import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import fc from "fast-check";
import { FrameDecoder, FrameWriter, type FrameHeader } from "../../src/wire/index.js";

/** A stream that keeps every chunk written to it, and how many writes it took. */
class Collector extends Writable {
  chunks: Buffer[] = [];
  writes = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(Buffer.from(chunk)); // a copy: what a batch handed over must never change afterwards
    this.writes += 1;
    callback();
  }
}

/** The frames a collector received, decoded, as [id, body length, first body byte]. */
function framesOf(collector: Collector): [unknown, number, number][] {
  const frames: [unknown, number, number][] = [];
  const decoder = new FrameDecoder({ onFrame: (header: FrameHeader, body) => frames.push([header.id, body.length, body[0] ?? -1]) });
  for (const chunk of collector.chunks) decoder.push(chunk);
  assert.equal(decoder.idle, true, "the stream ends at a frame boundary");
  return frames;
}

type Step =
  | { kind: "ok"; writer: 0 | 1; size: number }
  | { kind: "frame"; writer: 0 | 1; size: number }
  | { kind: "begin"; writer: 0 | 1 }
  | { kind: "end"; writer: 0 | 1 };

const writerIndex = fc.constantFrom<0 | 1>(0, 1);
const size = fc.oneof(fc.constantFrom(0, 1, 64, 4096, 16 * 1024, 16 * 1024 + 1, 40_000), fc.nat({ max: 9000 }));
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("ok" as const), writer: writerIndex, size }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("frame" as const), writer: writerIndex, size }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("begin" as const), writer: writerIndex }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("end" as const), writer: writerIndex }) },
);

describe("FrameWriter batches", () => {
  test("two writers that batch, write other frames and interleave in any order each deliver their frames whole and in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 120 }), async (steps) => {
        const streams = [new Collector(), new Collector()];
        const writers = streams.map((stream) => new FrameWriter(stream));
        const expected: [unknown, number, number][][] = [[], []];
        let id = 0;
        for (const s of steps) {
          const writer = writers[s.writer];
          if (s.kind === "begin") writer.beginBatch();
          else if (s.kind === "end") writer.endBatch();
          else {
            id += 1;
            const body = Buffer.alloc(s.size, id % 251);
            if (s.kind === "ok") writer.writeOkReply(id, body);
            else writer.writeFrame({ id, event: "x" }, body);
            expected[s.writer].push([id, s.size, s.size === 0 ? -1 : id % 251]);
          }
        }
        for (const writer of writers) writer.endBatch();
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(framesOf(streams[0]), expected[0]);
        assert.deepEqual(framesOf(streams[1]), expected[1]);
      }),
      { numRuns: 300 },
    );
  });

  test("the ok replies of one batch leave in one write", () => {
    const stream = new Collector();
    const writer = new FrameWriter(stream);
    writer.beginBatch();
    for (let id = 1; id <= 32; id += 1) writer.writeOkReply(id, Buffer.alloc(64, id));
    assert.equal(stream.writes, 0, "nothing leaves before the batch ends");
    writer.endBatch();
    assert.equal(stream.writes, 1);
    assert.deepEqual(
      framesOf(stream).map(([id]) => id),
      Array.from({ length: 32 }, (_, i) => i + 1),
    );
  });

  test("a batch leaves in one write wherever the shared slab stands, and two interleaved batches stay apart", () => {
    // Every slab position: batches of many sizes first push the shared slab's fill level around, then two
    // writers batch in turns. Each batch (under a slab's 32 KiB) must still be one write of whole frames.
    for (let fill = 0; fill < 40; fill += 1) {
      const filler = new FrameWriter(new Collector());
      filler.beginBatch();
      for (let i = 0; i < fill * 7; i += 1) filler.writeOkReply(i, Buffer.alloc(100));
      filler.endBatch();
      const streams = [new Collector(), new Collector()];
      const writers = streams.map((stream) => new FrameWriter(stream));
      for (const writer of writers) writer.beginBatch();
      for (let id = 1; id <= 60; id += 1) writers[id % 2].writeOkReply(id, Buffer.alloc(200, id));
      assert.deepEqual(streams.map((s) => s.writes), [0, 0], "nothing leaves before the batches end");
      for (const writer of writers) writer.endBatch();
      assert.deepEqual(streams.map((s) => s.writes), [1, 1], `one write per batch (slab filled by ${fill * 7} replies)`);
      assert.deepEqual(framesOf(streams[1]).map(([id, size, first]) => [id, size, first]), Array.from({ length: 30 }, (_, i) => [2 * i + 1, 200, 2 * i + 1]));
      assert.deepEqual(framesOf(streams[0]).map(([id]) => id), Array.from({ length: 30 }, (_, i) => 2 * i + 2));
    }
  });

  test("a direct frame inside a batch corks the stream: batch, frame and later replies leave in one writev", () => {
    class VCollector extends Collector {
      writevs = 0;
      override _writev(chunks: { chunk: Buffer }[], callback: () => void): void {
        for (const { chunk } of chunks) this.chunks.push(Buffer.from(chunk));
        this.writevs += 1;
        callback();
      }
    }
    const stream = new VCollector();
    const writer = new FrameWriter(stream);
    writer.beginBatch();
    writer.writeOkReply(1, Buffer.from("a"));
    writer.writeFrame({ id: 2, event: "x" }, Buffer.from("b"));
    writer.writeOkReply(3, Buffer.from("c"));
    assert.equal(stream.writes + stream.writevs, 0, "nothing leaves before the batch ends");
    writer.endBatch();
    assert.equal(stream.writable && stream.writableCorked, 0, "the stream is uncorked after the batch");
    assert.deepEqual([stream.writes, stream.writevs], [0, 1]);
    assert.deepEqual(framesOf(stream).map(([id]) => id), [1, 2, 3]);
  });

  test("a fatal last frame written while batching comes after the batched replies", () => {
    const stream = new Collector();
    const writer = new FrameWriter(stream);
    writer.beginBatch();
    writer.writeOkReply(1, Buffer.from("a"));
    writer.writeOkReply(2, Buffer.from("b"));
    writer.end([Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from("{}")])]);
    writer.endBatch();
    writer.writeOkReply(3, Buffer.from("c")); // after end(): dropped
    const decoded: FrameHeader[] = [];
    const decoder = new FrameDecoder({ onFrame: (header) => decoded.push(header) });
    for (const chunk of stream.chunks) decoder.push(chunk);
    assert.deepEqual(decoded, [{ id: 1, ok: true, size: 1 }, { id: 2, ok: true, size: 1 }, {}]);
  });
});
