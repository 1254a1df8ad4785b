import type { Writable } from "node:stream";
import { ByteBatch } from "./byte-batch.js";
import { encodeFrameHead, encodeFrameParts, encodeOkReplyParts, INLINE_BODY_LIMIT, okReplyLength, writeOkReply } from "./encoder.js";
import type { FrameHeader } from "./header.js";
import { DEFAULT_MAX_HEADER_SIZE } from "./limits.js";

/** A body of `size` bytes produced by a stream, written without holding it in memory. */
export interface StreamedBody {
  size: number;
  stream: AsyncIterable<Uint8Array>;
  /**
   * Called with each chunk of `stream` once the connection no longer needs its bytes (the socket took them, or
   * failed), so that the producer may read into it again (a file's chunks read into a few reused buffers).
   */
  release?: ((chunk: Uint8Array) => void) | undefined;
}

/** A frame held back behind a streamed body, or the start of another streamed body. */
type Queued = Buffer[] | (() => void);

/**
 * Why {@link FrameWriter.writeStreamed} failed when the body's stream failed only after its last byte was written:
 * the frame is whole, so the stream stays in step and may carry another frame (an error). Any other failure of a
 * streamed body leaves the frame short of its size, and nothing more may be written to the stream.
 */
export class StreamedBodyFailedAfterEnd extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "StreamedBodyFailedAfterEnd";
  }
}

export interface FrameWriterOptions {
  maxHeaderSize?: number;
  /**
   * Bytes the stream may hold unsent before the writer reports backpressure. Default 1 MiB: larger than a
   * socket's own 16 KiB mark, so a busy connection is not paused and resumed for every large reply.
   */
  highWater?: number;
  /** Told when writes start or stop backing up (`write()` returned false / 'drain'). */
  onBackpressure?: (blocked: boolean) => void;
}

/**
 * Writes frames to a byte stream in order. A frame whose body is a stream holds the stream until its last byte
 * is written (frames cannot interleave), so frames written meanwhile wait in order behind it. Backpressure is
 * reported through `onBackpressure` and respected while pumping a streamed body.
 *
 * @example
 * ```ts
 * const writer = new FrameWriter(socket);
 * writer.writeFrame({ type: "ping", id: 1 }, Buffer.from("hi"));
 * await writer.writeStreamed({ type: "put", id: 2 }, { size: stat.size, stream: createReadStream(file) });
 * ```
 */
export class FrameWriter {
  #stream: Writable;
  #maxHeaderSize: number;
  #onBackpressure: ((blocked: boolean) => void) | undefined;
  #blocked = false;
  #highWater: number;
  #queued: Queued[] | null = null;
  /** Set by end(): the last frames, written once a streamed body in progress is done, then the stream ends. */
  #ending: Buffer[] | null = null;
  #ended = false;
  /** Between beginBatch() and endBatch(): small ok replies gather here and leave in one write. */
  #batching = false;
  #batch = new ByteBatch();
  /** A frame was written directly during this batch, so the stream is corked until endBatch(): see #writeNow. */
  #batchCorked = false;

  constructor(stream: Writable, options: FrameWriterOptions = {}) {
    this.#stream = stream;
    this.#maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.#onBackpressure = options.onBackpressure;
    this.#highWater = options.highWater ?? 1024 * 1024;
    stream.on("drain", () => this.#setBlocked(false));
  }

  /** True while a streamed body holds the stream. */
  get busy(): boolean {
    return this.#queued !== null;
  }

  /** True while the stream's buffer is over its high-water mark. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /**
   * From now until {@link endBatch}, the small ok replies of {@link writeOkReply} gather in one buffer and
   * leave in one write (at endBatch, or before any other frame, so the order of frames never changes). A
   * connection batches while it decodes one chunk of input: the replies of pipelined requests.
   */
  beginBatch(): void {
    this.#batching = true;
  }

  /** Writes what the batch gathered and stops batching. */
  endBatch(): void {
    this.#batching = false;
    this.#flushBatch();
    if (this.#batchCorked) {
      this.#batchCorked = false;
      this.#stream.uncork();
    }
    this.#noteHighWater();
  }

  /**
   * Writes (or queues, or batches) the commonest frame, a successful reply with no fields but its body:
   * `{"id":N,"ok":true,"size":S}`. `id` must be a non-negative safe integer.
   */
  writeOkReply(id: number, body: Uint8Array): void {
    if (this.#ended) return;
    if (!this.#batching || this.#queued !== null || body.byteLength > INLINE_BODY_LIMIT) {
      this.write(encodeOkReplyParts(id, body));
      return;
    }
    const length = okReplyLength(id, body.byteLength);
    const batch = this.#batch;
    if (!batch.reserve(length)) {
      this.#flushBatch();
      batch.reserve(length);
    }
    batch.commit(writeOkReply(batch.buffer, batch.at, id, body));
  }

  /** Encodes and writes (or queues) one frame; `size` is set from the body. Throws on an oversized header. */
  writeFrame(header: FrameHeader, body?: Uint8Array): void {
    this.write(encodeFrameParts(header, body, this.#maxHeaderSize));
  }

  /** Writes (or queues) the already-encoded parts of one frame. Ignored once end() was called. */
  write(parts: Buffer[]): void {
    if (this.#ended) return;
    if (this.#queued !== null) this.#queued.push(parts);
    else this.#writeNow(parts);
  }

  /**
   * Writes `parts` (a last frame, e.g. a fatal error) after everything written or queued so far, then ends the
   * stream. A streamed body in progress is finished first, so the stream ends at a frame boundary. Idempotent;
   * later writes are dropped.
   */
  end(parts: Buffer[] = []): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#queued !== null) {
      this.#queued.push(parts);
      this.#ending = [];
      return;
    }
    this.#finish(parts);
  }

  #finish(parts: Buffer[]): void {
    if (this.#stream.destroyed || this.#stream.writableEnded) return;
    this.#flushBatch();
    for (const part of parts) this.#stream.write(part);
    this.#stream.end();
  }

  /**
   * Writes a frame whose body comes from a stream, after whatever is queued. Resolves once the last byte is
   * handed to the stream; rejects if the source fails or yields more or fewer than `size` bytes, in which case
   * the frame is broken and the caller must destroy the connection.
   */
  writeStreamed(header: FrameHeader, body: StreamedBody): Promise<void> {
    if (this.#ended) return Promise.reject(new Error("the stream was ended"));
    if (!Number.isSafeInteger(body.size) || body.size < 0) {
      return Promise.reject(new TypeError("body.size must be a non-negative safe integer"));
    }
    let head: Buffer;
    try {
      head = encodeFrameHead({ ...header, size: body.size }, this.#maxHeaderSize);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const start = (): void => {
        this.#writeNow([head]);
        this.#queued = [];
        this.#pump(body).then(
          () => {
            const queued = this.#queued ?? [];
            this.#queued = null;
            this.#flush(queued);
            if (this.#queued === null && this.#ending !== null) {
              this.#ending = null;
              this.#finish([]);
            }
            resolve();
          },
          (err: unknown) => {
            this.#queued = null;
            this.#ending = null;
            reject(err);
          },
        );
      };
      if (this.#queued !== null) this.#queued.push(start);
      else start();
    });
  }

  async #pump(body: StreamedBody): Promise<void> {
    let sent = 0;
    const release = body.release;
    try {
      for await (const chunk of body.stream) {
        if (this.#stream.destroyed) throw new Error("the connection closed while a body was being sent");
        sent += chunk.byteLength;
        if (sent > body.size) throw new Error(`the body is longer than its declared size ${body.size}`);
        if (release === undefined) this.#stream.write(chunk);
        else this.#stream.write(chunk, () => release(chunk));
        if (this.#stream.writableLength > this.#highWater) await this.#drained();
      }
    } catch (err) {
      // A stream that fails after its last byte (a check at its end) leaves the frame whole.
      throw sent === body.size && !this.#stream.destroyed ? new StreamedBodyFailedAfterEnd(err) : err;
    }
    if (sent !== body.size) throw new Error(`the body ended after ${sent} of its declared ${body.size} bytes`);
  }

  #flush(entries: Queued[]): void {
    for (let i = 0; i < entries.length; i += 1) {
      const entry = entries[i];
      if (typeof entry === "function") {
        entry();
        (this.#queued as Queued[]).push(...entries.slice(i + 1));
        return;
      }
      this.#writeNow(entry);
    }
  }

  /** Writes what the batch holds, before anything written after it. */
  #flushBatch(): void {
    const bytes = this.#batch.take();
    if (bytes !== null) this.#stream.write(bytes);
  }

  #writeNow(parts: Buffer[]): void {
    // Inside a batch, the first frame that does not fit it corks the stream, so that it, the batch before it and
    // whatever follows leave in one writev at endBatch(). A batch of ok replies alone is one plain write: corking
    // every input instead ran each reply through the Writable's buffer (its queue, then clearBuffer on uncork).
    if (this.#batching && !this.#batchCorked) {
      this.#batchCorked = true;
      this.#stream.cork();
    }
    this.#flushBatch();
    for (const part of parts) this.#stream.write(part);
    this.#noteHighWater();
  }

  #noteHighWater(): void {
    // 'drain' follows: past the high-water mark write() has returned false, so the stream owes one.
    if (this.#stream.writableLength > this.#highWater) this.#setBlocked(true);
  }

  #setBlocked(blocked: boolean): void {
    if (this.#blocked === blocked) return;
    this.#blocked = blocked;
    this.#onBackpressure?.(blocked);
  }

  #drained(): Promise<void> {
    this.#setBlocked(true);
    return new Promise((resolve) => {
      const done = (): void => {
        this.#stream.off("drain", done);
        this.#stream.off("close", done);
        resolve();
      };
      this.#stream.on("drain", done);
      this.#stream.on("close", done);
    });
  }
}
