import { readSync, writevSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { ChunkPool } from "./chunk-pool.js";
import type { ContentHash } from "./hash.js";

/** What the readers and writers feed: any running hash (sha256, BLAKE3). */
type Hash = Pick<ContentHash, "update">;

/** Bytes read from a file per step when hashing or sending it. */
export const READ_CHUNK = 1024 * 1024;
/**
 * Bytes read per step with blocking reads ({@link ReadOptions}), in a process that does one transfer at a time:
 * four times fewer steps, each a read, a hash update and a socket write, with the event loop's turn between them.
 * Measured on `wharf put` of 1 GiB (interleaved rounds, client pinned to one core): 0.48-0.51 CPU s of the client
 * against 0.57-0.62 in 1 MiB steps, most of it the kernel's (fewer and larger sends to the socket); the wall time
 * was the same or shorter in two sets of rounds and 7% longer in a third (issue 15). A server keeps 1 MiB steps:
 * its memory is per connection.
 */
export const BLOCKING_READ_CHUNK = 4 * 1024 * 1024;
/** A writer starts a write once this much is queued, and holds the producer back at twice this much. */
export const WRITE_BATCH = 4 * 1024 * 1024;

/** Bytes of the buffer a delta rebuild copies its COPY ranges through ({@link copyThrough}). */
export const COPY_BLOCK = 4 * 1024 * 1024;

/** Where {@link copyThrough} sends the bytes it copies, and what it calls the file it copies from. */
export interface CopySink {
  /** Takes bytes that are only valid until `settle()` resolves (the buffer is read into again after). */
  write(bytes: Buffer): Promise<void>;
  /** Resolves once everything given to `write` is out of the buffer (written to its file). */
  settle(): Promise<void>;
  /** The file copied from, for the error when it turns out shorter than asked ("the stored file"). */
  source: string;
}

/**
 * Copies bytes [at, at + length) of `base` to `sink` in steps of `buffer`'s size, each step settled before the
 * buffer is read into again: one buffer for a whole delta rebuild instead of a fresh one per MiB (measured: 0.27 s
 * of garbage collection per GiB built on the server, 4.2 CPU s per GiB on a getting client, issue 15). Fails if
 * the base is shorter than asked (it changed meanwhile).
 */
export async function copyThrough(base: FileHandle, at: number, length: number, buffer: Buffer, sink: CopySink): Promise<void> {
  for (let done = 0; done < length; ) {
    const step = Math.min(buffer.length, length - done);
    const { bytesRead } = await base.read(buffer, 0, step, at + done);
    if (bytesRead !== step) throw new Error(`${sink.source} changed while a delta was built: it ended at ${at + done + bytesRead}`);
    await sink.write(buffer.subarray(0, step));
    await sink.settle();
    done += step;
  }
}

/** How a reader reads its file ({@link readChunks}). */
export interface ReadOptions {
  /**
   * Read with blocking calls on the calling thread instead of libuv's thread pool, one chunk at a time: for a
   * process doing one transfer at a time ({@link blockClientIo}), where each read's hand-off to a pool thread and
   * back is pure cost (about 70 us a read on these machines: 0.07 CPU s per GiB in 1 MiB reads, issue 15) and the
   * kernel's read-ahead overlaps the disk with the sending anyway. Never in a server: a read from a cold disk would
   * stall every other client for its whole length. Blocking reads go in steps of BLOCKING_READ_CHUNK, others of
   * READ_CHUNK ({@link readStep}).
   */
  blocking?: boolean;
}

/** Bytes a reader reads per step: BLOCKING_READ_CHUNK with blocking reads, else READ_CHUNK. */
export function readStep(options: ReadOptions = {}): number {
  return options.blocking === true ? BLOCKING_READ_CHUNK : READ_CHUNK;
}

/** Resolves on the event loop's next check phase, after it has polled for I/O. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

let clientIoBlocks = false;

/**
 * Makes this process's client transfers read and write their local files with blocking calls ({@link
 * ReadOptions}): `wharf put` and `wharf get` call it, processes that do one transfer at a time. A library user's
 * process keeps its file I/O in libuv's pool, since it may be serving others meanwhile.
 *
 * @example
 * ```ts
 * blockClientIo(); // first thing in a command that only transfers
 * ```
 */
export function blockClientIo(): void {
  clientIoBlocks = true;
}

/** Whether a client transfer in this process reads and writes its local file with blocking calls ({@link blockClientIo}). */
export function clientIoBlocking(): boolean {
  return clientIoBlocks;
}

/**
 * Bytes [start, end) of an open file in chunks of up to {@link readStep}, the next one read while the consumer
 * handles the last (or, with `blocking`, each read when the consumer asks for it). Without `pool` each chunk is a
 * buffer of its own (the consumer may keep it, e.g. queued on a socket); with one, chunks are read into the pool's
 * buffers and the consumer gives each back when done with it. Fails if the file is shorter than `end` (it changed
 * meanwhile).
 */
export async function* readChunks(file: FileHandle, start: number, end: number, signal?: AbortSignal, pool?: ChunkPool, options: ReadOptions = {}): AsyncGenerator<Buffer> {
  const step = readStep(options);
  if (options.blocking === true) {
    for (let at = start; at < end; ) {
      // A turn of the event loop per chunk: what arrived on the connection meanwhile (a server's error frame) is
      // read before the next chunk is written, as it was while every read went through the pool. Without it the
      // write that meets the server's reset fails first, and the frame that said why is never read.
      if (at > start) await nextTurn();
      signal?.throwIfAborted();
      const length = Math.min(step, end - at);
      const into = pool === undefined ? Buffer.allocUnsafeSlow(length) : await pool.take(length);
      const bytesRead = readSync(file.fd, into, 0, length, at);
      if (bytesRead !== length) throw new Error(`the file changed while it was read: it ended at ${at + bytesRead}, before ${end}`);
      at += length;
      yield into;
    }
    return;
  }
  const read = async (at: number): Promise<Buffer> => {
    const length = Math.min(step, end - at);
    const into = pool === undefined ? Buffer.allocUnsafeSlow(length) : await pool.take(length);
    const { bytesRead } = await file.read(into, 0, length, at);
    if (bytesRead !== length) throw new Error(`the file changed while it was read: it ended at ${at + bytesRead}, before ${end}`);
    return into;
  };
  // A read ahead is marked observed as it starts: while the generator waits at a yield, its consumer may close
  // the file (an aborted transfer) before it calls return(), and the read's EBADF must not reject unobserved
  // (an unhandled rejection ends the process). Awaiting it still throws.
  const readAhead = (at: number): Promise<Buffer> => {
    const next = read(at);
    next.catch(() => {});
    return next;
  };
  let position = start;
  let pending = position < end ? readAhead(position) : null;
  while (pending !== null) {
    signal?.throwIfAborted();
    const chunk = await pending;
    position += chunk.length;
    pending = position < end ? readAhead(position) : null;
    yield chunk;
  }
}

/**
 * Feeds bytes [start, end) of an open file into `hash`, through two reused buffers. Fails if the file is shorter
 * than `end`.
 *
 * @example
 * ```ts
 * const hash = createContentHash("blake3");
 * await hashFileRange(file, 0, resumeOffset, hash); // the prefix a resumed transfer does not send again
 * ```
 */
export async function hashFileRange(file: FileHandle, start: number, end: number, hash: Hash, signal?: AbortSignal, options: ReadOptions = {}): Promise<void> {
  if (start >= end) return;
  const pool = readPool(end - start, 2, readStep(options));
  for await (const chunk of readChunks(file, start, end, signal, pool, options)) {
    hash.update(chunk);
    pool.give(chunk);
  }
}

/**
 * Reads bytes [start, end) of an open file as a stream of chunks, hashing each one as it passes: the sender's
 * side of a transfer. `onChunk` sees every chunk's length (progress). With `pool`, the chunks are the pool's
 * buffers, each to be given back once sent (a StreamedBody's `release`). Fails if the file has fewer bytes.
 */
export async function* hashingReader(
  file: FileHandle,
  start: number,
  end: number,
  hash: Hash,
  onChunk?: (bytes: number) => void,
  pool?: ChunkPool,
  options: ReadOptions = {},
): AsyncGenerator<Buffer> {
  for await (const chunk of readChunks(file, start, end, undefined, pool, options)) {
    hash.update(chunk);
    onChunk?.(chunk.length);
    yield chunk;
  }
}

/**
 * Buffers a sender's chunks are read into ({@link hashingReader}): enough for the socket's queue and a read ahead,
 * 6 MiB in 1 MiB steps. In blocking steps of 4 MiB three (12 MiB): one being read and hashed while two wait on the
 * socket, as there is no read ahead.
 */
const SEND_BUFFERS = 6;
const BLOCKING_SEND_BUFFERS = 3;

/**
 * `count` reused buffers for reading `bytes` of a file: `step` bytes each, or the range's size when that is less
 * (a small file's hash or send does not allocate a whole MiB per buffer).
 */
function readPool(bytes: number, count: number, step: number): ChunkPool {
  return new ChunkPool(Math.max(1, Math.min(step, bytes)), count);
}

/**
 * The buffers a sender reads `bytes` of a file into with {@link hashingReader} and the same `options`; its
 * streamed body gives each back with the pool's `give` (a StreamedBody's `release`).
 */
export function sendPool(bytes: number, options: ReadOptions = {}): ChunkPool {
  return readPool(bytes, options.blocking === true ? BLOCKING_SEND_BUFFERS : SEND_BUFFERS, readStep(options));
}

/**
 * The receiver's side of a transfer: hashes every chunk given to {@link write} and writes them at increasing
 * positions of an open file, gathering chunks into batches written with one writev while the next batch fills.
 * `write` resolves at once unless two batches are pending, so memory stays bounded by about 2 x WRITE_BATCH.
 *
 * @example
 * ```ts
 * const writer = new HashingWriter(file, offset, hash);
 * for await (const chunk of body) await writer.write(chunk);
 * await writer.finish(); // every byte written; the file is not yet fsynced
 * ```
 */
export class HashingWriter {
  #file: FileHandle;
  #position: number;
  #hash: Hash;
  #batch: number;
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  #inFlight: Promise<void> | null = null;
  #failure: unknown = null;
  #written = 0;

  constructor(file: FileHandle, position: number, hash: Hash, batch = WRITE_BATCH) {
    this.#file = file;
    this.#position = position;
    this.#hash = hash;
    this.#batch = batch;
  }

  /** Bytes written to the file so far (not counting queued ones). */
  get written(): number {
    return this.#written;
  }

  /** Hashes and queues a chunk; rejects with the error of a failed earlier write (e.g. ENOSPC). */
  async write(chunk: Buffer): Promise<void> {
    if (this.#failure !== null) throw this.#failure;
    this.#hash.update(chunk);
    this.#queued.push(chunk);
    this.#queuedBytes += chunk.length;
    if (this.#queuedBytes < this.#batch) return;
    if (this.#inFlight !== null) await this.#inFlight;
    if (this.#failure !== null) throw this.#failure;
    if (this.#queuedBytes >= this.#batch && this.#inFlight === null) this.#startWrite();
  }

  /** Writes whatever is queued and resolves once every byte is in the file; rejects if any write failed. */
  async finish(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
    if (this.#failure === null && this.#queuedBytes > 0) {
      this.#startWrite();
      await this.#inFlight;
    }
    if (this.#failure !== null) throw this.#failure;
  }

  /** Waits for a write in flight, without writing what is queued (after a failure elsewhere). */
  async settle(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
  }

  #startWrite(): void {
    const buffers = this.#queued;
    const bytes = this.#queuedBytes;
    this.#queued = [];
    this.#queuedBytes = 0;
    const position = this.#position;
    this.#position += bytes;
    this.#inFlight = writeAll(this.#file, buffers, position, (n) => (this.#written += n)).then(
      () => {
        this.#inFlight = null;
      },
      (err: unknown) => {
        this.#failure = err;
        this.#inFlight = null;
      },
    );
  }
}

/** {@link writeAll} with blocking calls on the calling thread (a client transfer, {@link blockClientIo}). */
export function writeAllSync(fd: number, buffers: Buffer[], position: number, onWritten: (n: number) => void): void {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    const slice = rest.length > 1024 ? rest.slice(0, 1024) : rest;
    const bytesWritten = writevSync(fd, slice, at);
    if (bytesWritten === 0) throw Object.assign(new Error("write made no progress"), { code: "EIO" });
    onWritten(bytesWritten);
    at += bytesWritten;
    rest = dropBytes(rest, bytesWritten);
  }
}

/** writev that carries on after a short write (a disk filling up writes part, then fails); `onWritten` counts. */
export async function writeAll(file: FileHandle, buffers: Buffer[], position: number, onWritten: (n: number) => void): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    // Linux takes at most IOV_MAX (1024) buffers per writev.
    const slice = rest.length > 1024 ? rest.slice(0, 1024) : rest;
    const { bytesWritten } = await file.writev(slice, at);
    if (bytesWritten === 0) throw Object.assign(new Error("write made no progress"), { code: "EIO" });
    onWritten(bytesWritten);
    at += bytesWritten;
    rest = dropBytes(rest, bytesWritten);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  let i = 0;
  while (i < buffers.length && left >= buffers[i].length) {
    left -= buffers[i].length;
    i += 1;
  }
  const rest = buffers.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = rest[0].subarray(left);
  return rest;
}
