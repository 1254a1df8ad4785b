/**
 * The block list of a file made while it is written (issue 15). A delta put starts with the receiver listing the
 * version it holds (delta-blocks.ts): one read of the whole file and a hash per block, about a fifth of a second
 * per GiB, all of it before the sender's search can finish. A server that stores a file has every byte of it in
 * memory once anyway, so it lists the blocks then, as the bytes pass on their way to the file, and keeps the list
 * with the file's version (stored-block-lists.ts): the next delta put onto that version starts from the list.
 */
import { createBlockHasher, XXH128_SCRATCH, type BlockHasher } from "./block-hash.js";
import { BLOCK_SIZE, FINGERPRINT_BYTES, writeBlockEntry } from "./delta-blocks.js";
import { wasmMemoryOf } from "./chunker-wasm.js";
import { SINK_BATCH } from "./file-sink.js";
import { COPY_BLOCK } from "./hashing-io.js";

/**
 * Bytes of the working area a recorder lends its writer, what a writer reads or gathers blocks into: a delta
 * rebuild's copy buffer, or a file sink's two batches (4 MiB).
 */
export const RECORDER_AREA = Math.max(COPY_BLOCK, 2 * SINK_BATCH);

/**
 * Recorders alive at once in one process. Each holds its RECORDER_AREA and its list (up to 5 MiB for a file of
 * 16 GiB) from the upload's begin to its end, and a begin costs a client nothing but a request: without a bound, a
 * user beginning upload after upload could make the server hold any amount. An upload begun while MAX_RECORDERS are
 * alive is not recorded; the next delta put onto it reads the file instead.
 */
export const MAX_RECORDERS = 8;

let liveRecorders = 0;

/**
 * Lists the blocks of the bytes given to {@link update}, in order from the file's start: per BLOCK_SIZE bytes a
 * fingerprint and an XXH3-128 hash, as `files.put.chunks {blocks: true, blockHash: "xxh128"}` lists them. Bytes
 * that lie in its {@link area} (a writer's buffers lent from it) are hashed where they lie; others pass through a
 * block of staging memory. Only made where the WebAssembly hash loads: elsewhere the list is made when asked for.
 *
 * @example
 * ```ts
 * const recorder = await BlockRecorder.create(fileSize);
 * recorder?.update(bytes); // every byte of the file, in order
 * const list = recorder?.finish(); // the block list, once every byte has passed
 * recorder?.release(); // the upload is over
 * ```
 */
export class BlockRecorder {
  /** Memory lent to the writer: bytes gathered or read here are hashed without a copy. RECORDER_AREA long. */
  readonly area: Buffer;
  readonly #hasher: BlockHasher;
  readonly #staging: Buffer;
  readonly #list: Buffer;
  readonly #entry: number;
  readonly #memory: ArrayBuffer;
  readonly #block: number;
  #carry = 0;
  #entries = 0;
  #bytes = 0;
  readonly #size: number;
  #released = false;

  private constructor(hasher: BlockHasher, memory: ArrayBuffer, size: number, block: number) {
    this.#hasher = hasher;
    this.#memory = memory;
    this.#block = block;
    this.#staging = Buffer.from(memory, XXH128_SCRATCH, block);
    this.area = Buffer.from(memory, XXH128_SCRATCH + block, RECORDER_AREA);
    this.#entry = 4 + hasher.bytes;
    this.#size = size;
    this.#list = Buffer.allocUnsafe(Math.ceil(size / block) * this.#entry);
  }

  /**
   * A recorder for a file of `size` bytes (in blocks of `block` bytes: BLOCK_SIZE but in tests), to be given back
   * with {@link release} when its upload ends; null while MAX_RECORDERS are alive, or where the WebAssembly hash does
   * not load (nothing is recorded).
   */
  static async create(size: number, block = BLOCK_SIZE): Promise<BlockRecorder | null> {
    if (!Number.isSafeInteger(block) || block < FINGERPRINT_BYTES) throw new RangeError(`a block is at least ${FINGERPRINT_BYTES} bytes, not ${block}`);
    if (liveRecorders >= MAX_RECORDERS) return null;
    liveRecorders += 1; // counted before the wait: recorders made at once must not all pass the check
    let made: BlockRecorder | null = null;
    try {
      const memory = wasmMemoryOf(XXH128_SCRATCH + block + RECORDER_AREA);
      const hasher = await createBlockHasher("xxh128", { memory, scratch: 0 });
      if (hasher.kind === "wasm") made = new BlockRecorder(hasher, memory.buffer, size, block);
    } finally {
      if (made === null) liveRecorders -= 1;
    }
    return made;
  }

  /** Recorders alive in this process (made and not released). */
  static get live(): number {
    return liveRecorders;
  }

  /** Its upload is over: another may be recorded in its place. Once only; the recorder is not to be used after. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    liveRecorders -= 1;
  }

  /** Bytes given so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Takes the next bytes of the file (hashed before the call returns: the buffer may be reused after). */
  update(bytes: Uint8Array): void {
    if (this.#bytes + bytes.length > this.#size) throw new RangeError(`a recorder of ${this.#size} bytes was given ${this.#bytes + bytes.length}`);
    this.#bytes += bytes.length;
    let at = 0;
    if (this.#carry > 0) {
      at = Math.min(this.#block - this.#carry, bytes.length);
      this.#staging.set(bytes.subarray(0, at), this.#carry);
      this.#carry += at;
      if (this.#carry < this.#block) return;
      this.#add(this.#staging);
      this.#carry = 0;
    }
    const inPlace = bytes.buffer === this.#memory;
    for (; bytes.length - at >= this.#block; at += this.#block) {
      const block = bytes.subarray(at, at + this.#block);
      if (inPlace) {
        this.#add(block);
      } else {
        this.#staging.set(block);
        this.#add(this.#staging);
      }
    }
    if (at < bytes.length) {
      this.#staging.set(bytes.subarray(at));
      this.#carry = bytes.length - at;
    }
  }

  /** The block list of the whole file; throws a RangeError unless every byte was given. */
  finish(): Buffer {
    if (this.#bytes !== this.#size) throw new RangeError(`a recorder of ${this.#size} bytes was given ${this.#bytes}`);
    if (this.#carry >= FINGERPRINT_BYTES) this.#add(this.#staging.subarray(0, this.#carry));
    this.#carry = 0;
    return this.#list.subarray(0, this.#entries * this.#entry);
  }

  #add(block: Uint8Array): void {
    writeBlockEntry(this.#list, this.#entries * this.#entry, block, this.#hasher);
    this.#entries += 1;
  }
}
