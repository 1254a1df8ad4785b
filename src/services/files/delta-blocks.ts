/**
 * rsync's split of a delta put (issue 15): the receiver describes the version it has by **fixed blocks**, which
 * costs it one read and a hash per block (no scan for cut points), and the sender finds those blocks in its new
 * version wherever they moved to.
 *
 * A **block list** is a chunk list (delta-ops.ts) whose entries describe the blocks of BLOCK_SIZE bytes at
 * offsets 0, BLOCK_SIZE, 2 × BLOCK_SIZE, ... (the last may be shorter; one shorter than FINGERPRINT_BYTES is
 * left out): per block a `u32` **fingerprint** and its 32-byte hash. The fingerprint is the gear hash of the
 * block's last FINGERPRINT_BYTES bytes (`h = (h << 1) + GEAR[byte]`, 32-bit, from 0: chunker-gear.ts), so that the
 * sender can roll it over its file one byte at a time and look each position up, and verify a hit with the hash.
 */
import type { FileHandle } from "node:fs/promises";
import { GEAR } from "./chunker-gear.js";
import { LIST_ENTRY } from "./delta-ops.js";
import { BIT_WORDS } from "./delta-roller.js";
import type { ChunkLister } from "./delta-list-cache.js";
import { hashBytes, type HashAlgorithm } from "./hash.js";

/** The size of the blocks a receiver lists (the reply says it: `block`). */
export const BLOCK_SIZE = 64 * 1024;

/** The bytes at the end of a block that its fingerprint covers. */
export const FINGERPRINT_BYTES = 32;

/** Blocks read at once by the lister: 4 MiB. */
const READ_BLOCKS = 64;

/**
 * The fingerprint of the FINGERPRINT_BYTES bytes of `data` that end at `end`.
 *
 * @example
 * ```ts
 * fingerprint(block, block.length); // the u32 a block list gives for `block`, as a signed 32-bit number
 * ```
 */
export function fingerprint(data: Uint8Array, end: number): number {
  let h = 0;
  for (let i = end - FINGERPRINT_BYTES; i < end; i += 1) h = ((h << 1) + GEAR[data[i]]) | 0;
  return h;
}

/**
 * The block list of `data` (a file's bytes from a block boundary): its blocks of `blockSize` bytes fingerprinted and
 * hashed with `algorithm`, the last one left out if shorter than FINGERPRINT_BYTES.
 *
 * @example
 * ```ts
 * const list = blockListOf(bytes, "blake3"); // what files.put.chunks with `blocks` lists for a file of `bytes`
 * ```
 */
export function blockListOf(data: Uint8Array, algorithm: HashAlgorithm, blockSize = BLOCK_SIZE): Buffer {
  const list = Buffer.allocUnsafe(Math.ceil(data.length / blockSize) * LIST_ENTRY);
  let entries = 0;
  for (let start = 0; start < data.length; start += blockSize) {
    const end = Math.min(start + blockSize, data.length);
    if (end - start < FINGERPRINT_BYTES) break; // only the file's last block can be this short
    list.writeInt32BE(fingerprint(data, end), entries * LIST_ENTRY);
    hashBytes(algorithm, data.subarray(start, end)).copy(list, entries * LIST_ENTRY + 4);
    entries += 1;
  }
  return list.subarray(0, entries * LIST_ENTRY);
}

/**
 * The block list of a whole file (a {@link ChunkLister}): read once in 4 MiB steps, each step's blocks listed
 * ({@link blockListOf}) and that part of the list handed to `onPart` as it is made.
 */
export const listBlocks: ChunkLister = async (file: FileHandle, size, algorithm, whole, onPart) => {
  const buffer = Buffer.allocUnsafeSlow(Math.max(1, Math.min(size, READ_BLOCKS * BLOCK_SIZE)));
  const parts: Buffer[] = [];
  for (let at = 0; at < size; ) {
    const want = Math.min(buffer.length, size - at);
    const { bytesRead } = await file.read(buffer, 0, want, at);
    if (bytesRead !== want) throw new Error(`the file changed while it was read: it ended at ${at + bytesRead}, before ${size}`);
    whole?.update(buffer.subarray(0, want));
    const part = blockListOf(buffer.subarray(0, want), algorithm);
    parts.push(part);
    at += want;
    if (part.length > 0) await onPart?.(part);
  }
  return Buffer.concat(parts);
};

/**
 * The sender's view of a receiver's block list as it streams in: each block's hash and length, the blocks by
 * fingerprint (a bit table of fingerprints first, so that most positions of a scan cost one read of it), how much
 * of the base is listed, and a wait for more.
 */
export class BlockIndex {
  readonly blockSize: number;
  readonly baseSize: number;
  #hashes: Buffer[] = [];
  #first = new Map<number, number>();
  #next: number[] = [];
  /** One bit per 256 fingerprints (2 MiB): a scan's false hits stay near 0.1% of its bytes with 16,384 blocks (1 GiB). */
  readonly #bits: Int32Array;
  #done = false;
  #failure: unknown = null;
  #wake: (() => void) | null = null;

  /** `bits`: where to keep the fingerprints' bits (a roller's, delta-roller.ts), zeroed, BIT_WORDS long. */
  constructor(blockSize: number, baseSize: number, bits: Int32Array = new Int32Array(BIT_WORDS)) {
    if (bits.length !== BIT_WORDS) throw new RangeError(`a block index's bit table is ${BIT_WORDS} words, not ${bits.length}`);
    if (!Number.isSafeInteger(blockSize) || blockSize < FINGERPRINT_BYTES || blockSize > 0xffffffff) throw new RangeError(`a block list's block size must be an integer from ${FINGERPRINT_BYTES}, not ${blockSize}`);
    if (!Number.isSafeInteger(baseSize) || baseSize < 0) throw new RangeError(`a base's size must be a non-negative integer, not ${baseSize}`);
    this.blockSize = blockSize;
    this.baseSize = baseSize;
    this.#bits = bits;
  }

  /** Blocks listed so far. */
  get count(): number {
    return this.#hashes.length;
  }

  /** Bytes of the base the list covers so far (all of it once the list is complete). */
  get listed(): number {
    return this.#done ? this.baseSize : Math.min(this.baseSize, this.count * this.blockSize);
  }

  /** Adds a part of the list (its entries continue the blocks listed so far); throws a RangeError on a malformed one. */
  add(part: Buffer): void {
    if (part.length % LIST_ENTRY !== 0) throw new RangeError(`a block list is a multiple of ${LIST_ENTRY} bytes, not ${part.length}`);
    const owned = Buffer.from(part); // the frame's buffer is not ours to keep
    for (let at = 0; at < owned.length; at += LIST_ENTRY) {
      const k = this.#hashes.length;
      if (this.length(k) < FINGERPRINT_BYTES) throw new RangeError(`a block list of a ${this.baseSize}-byte base has no block ${k}`);
      const print = owned.readInt32BE(at);
      this.#hashes.push(owned.subarray(at + 4, at + LIST_ENTRY));
      this.#next.push(this.#first.get(print) ?? -1);
      this.#first.set(print, k);
      this.#bits[print >>> 13] |= 1 << ((print >>> 8) & 31);
    }
    this.#notify();
  }

  /** Whether the list is complete. */
  get complete(): boolean {
    return this.#done;
  }

  /** The list is complete. */
  finish(): void {
    this.#done = true;
    this.#notify();
  }

  fail(err: unknown): void {
    this.#failure ??= err;
    this.#notify();
  }

  /** Waits until the list covers `bytes` of the base, or is complete; throws if it failed. */
  async covers(bytes: number): Promise<void> {
    for (;;) {
      if (this.#failure !== null) throw this.#failure;
      if (this.#done || this.listed >= bytes) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** The length of block `k` (listed or not). */
  length(k: number): number {
    return Math.min(this.blockSize, this.baseSize - k * this.blockSize);
  }

  /** Whether `digest` is block `k`'s hash. */
  matches(k: number, digest: Buffer): boolean {
    return this.#hashes[k].equals(digest);
  }

  /** Whether a block may have fingerprint `print` (false: none has). */
  mayHave(print: number): boolean {
    return (this.#bits[print >>> 13] & (1 << ((print >>> 8) & 31))) !== 0;
  }

  /** The last listed block with fingerprint `print`, or -1; {@link nextWith} gives the one before it. */
  firstWith(print: number): number {
    return this.#first.get(print) ?? -1;
  }

  nextWith(k: number): number {
    return this.#next[k];
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
