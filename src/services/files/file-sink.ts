import type { FileHandle } from "node:fs/promises";
import type { BodySink } from "../../wire/index.js";
import type { BlockRecorder } from "./block-recorder.js";
import type { ContentHash } from "./hash.js";
import { writeAll, writeAllSync } from "./hashing-io.js";

/** Bytes a {@link HashingFileSink} gathers before it writes them, in each of its two buffers. */
export const SINK_BATCH = 1024 * 1024;

/** Options of a {@link HashingFileSink}. */
export interface FileSinkOptions {
  /** Called with each piece's length as it is taken (progress). */
  onBytes?: (bytes: number) => void;
  /** Bytes per buffer (default SINK_BATCH). */
  batch?: number;
  /**
   * Lists the blocks of what is written (block-recorder.ts): the two buffers are then lent from its memory, and
   * each batch is given to it, in file order, as its write starts.
   */
  recorder?: Pick<BlockRecorder, "area" | "update">;
  /** Write each batch with a blocking call as it fills, on this thread (a client transfer: hashing-io.ts, blockClientIo). */
  blocking?: boolean;
}

/**
 * The receiver's side of a transfer as a {@link BodySink}: each piece of the body, valid only during the call, is
 * hashed while it is hot and copied into one of two reused buffers; a full buffer is written at the next position
 * of the file while the other fills. When both are taken the sink asks the connection to wait. No buffer is made
 * per piece: a get of 1 GiB touches the same 2 MiB over and over (issue 15).
 *
 * @example
 * ```ts
 * const sink = new HashingFileSink(file, offset, hash, { onBytes: (n) => bar.increment(n) });
 * await reply.body.drainInto(sink);
 * await sink.finish(); // every byte written; the file is not yet fsynced
 * ```
 */
export class HashingFileSink implements BodySink {
  #file: FileHandle;
  #position: number;
  #hash: Pick<ContentHash, "update">;
  #onBytes: ((bytes: number) => void) | undefined;
  #recorder: FileSinkOptions["recorder"];
  #blocking: boolean;
  #batch: Buffer;
  #spare: Buffer;
  #fill = 0;
  /** Copies of what did not fit while both buffers were taken: at most the rest of one read. */
  #overflow: Buffer[] = [];
  #inFlight: Promise<void> | null = null;
  #failure: unknown = null;
  #received = 0;

  constructor(file: FileHandle, position: number, hash: Pick<ContentHash, "update">, options: FileSinkOptions = {}) {
    const batch = options.batch ?? SINK_BATCH;
    this.#file = file;
    this.#position = position;
    this.#hash = hash;
    this.#onBytes = options.onBytes;
    this.#recorder = options.recorder;
    this.#blocking = options.blocking === true;
    const area = options.recorder?.area;
    if (area !== undefined && area.length < 2 * batch) throw new RangeError(`a recorder's area of ${area.length} bytes cannot hold two batches of ${batch}`);
    this.#batch = area?.subarray(0, batch) ?? Buffer.allocUnsafeSlow(batch);
    this.#spare = area?.subarray(batch, 2 * batch) ?? Buffer.allocUnsafeSlow(batch);
  }

  /** Bytes taken so far (written or queued). */
  get received(): number {
    return this.#received;
  }

  write(chunk: Buffer): void | Promise<void> {
    if (this.#failure !== null) throw this.#failure;
    this.#hash.update(chunk);
    this.#received += chunk.length;
    const fits = this.#overflow.length === 0 ? Math.min(chunk.length, this.#batch.length - this.#fill) : 0;
    chunk.copy(this.#batch, this.#fill, 0, fits);
    this.#fill += fits;
    if (fits < chunk.length) this.#overflow.push(Buffer.from(chunk.subarray(fits)));
    this.#onBytes?.(chunk.length);
    if (this.#fill < this.#batch.length) return;
    if (this.#inFlight === null) return void this.#startWrite();
    return this.#inFlight.then(() => {
      if (this.#failure !== null) throw this.#failure;
      if (this.#inFlight === null && this.#fill === this.#batch.length) this.#startWrite();
    });
  }

  /** Writes whatever is gathered and resolves once every byte taken is in the file; rejects if a write failed. */
  async finish(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
    if (this.#failure === null && (this.#fill > 0 || this.#overflow.length > 0)) {
      this.#startWrite();
      while (this.#inFlight !== null) await this.#inFlight;
    }
    if (this.#failure !== null) throw this.#failure;
  }

  /** Waits for a write in flight, without writing what is gathered (after a failure elsewhere). */
  async settle(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
  }

  #startWrite(): void {
    const buffers = [this.#batch.subarray(0, this.#fill), ...this.#overflow];
    if (this.#recorder !== undefined) for (const bytes of buffers) this.#recorder.update(bytes);
    const bytes = this.#fill + this.#overflow.reduce((sum, b) => sum + b.length, 0);
    [this.#batch, this.#spare] = [this.#spare, this.#batch];
    this.#fill = 0;
    this.#overflow = [];
    const position = this.#position;
    this.#position += bytes;
    if (this.#blocking) {
      try {
        writeAllSync(this.#file.fd, buffers, position, () => {});
      } catch (err) {
        this.#failure = err;
      }
      return;
    }
    this.#inFlight = writeAll(this.#file, buffers, position, () => {}).then(
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
