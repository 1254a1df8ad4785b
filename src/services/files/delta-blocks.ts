/**
 * rsync's split of a delta put (issue 15): the receiver describes the version it has by **fixed blocks**, which
 * costs it one read and a hash per block (no scan for cut points), and the sender finds those blocks in its new
 * version wherever they moved to.
 *
 * A **block list** is a chunk list (delta-ops.ts) whose entries describe the blocks of BLOCK_SIZE bytes at
 * offsets 0, BLOCK_SIZE, 2 × BLOCK_SIZE, ... (the last may be shorter; one shorter than FINGERPRINT_BYTES is
 * left out): per block a `u32` **fingerprint** and its hash: 32 bytes in the transfer's algorithm, or 16 of XXH3-128
 * where the sender asked for `xxh128` (block-hash.ts). The fingerprint is the gear hash of the
 * block's last FINGERPRINT_BYTES bytes (`h = (h << 1) + GEAR[byte]`, 32-bit, from 0: chunker-gear.ts), so that the
 * sender can roll it over its file one byte at a time and look each position up, and verify a hit with the hash.
 */
import type { FileHandle } from "node:fs/promises";
import { blockHasherWithBuffer, type BlockHasher, type BlockHashName } from "./block-hash.js";
import { GEAR } from "./chunker-gear.js";
import { BIT_WORDS } from "./delta-roller.js";
import type { OnListPart } from "./delta-list-cache.js";
import type { ContentHash } from "./hash.js";

/** The size of the blocks a receiver lists (the reply says it: `block`). */
export const BLOCK_SIZE = 64 * 1024;

/** The bytes at the end of a block that its fingerprint covers. */
export const FINGERPRINT_BYTES = 32;

/**
 * The largest block list a client may send with a get: 8 MiB, 26 GiB of base in 64 KiB blocks of XXH3-128 (a
 * larger base is listed in larger blocks).
 */
export const MAX_GET_BLOCK_LIST = 8 * 1024 * 1024;

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

/** Writes the list entry of `block` at `at` of `list`: its fingerprint, then its hash by `hasher`. */
export function writeBlockEntry(list: Buffer, at: number, block: Uint8Array, hasher: BlockHasher): void {
  list.writeInt32BE(fingerprint(block, block.length), at);
  hasher.digest(block).copy(list, at + 4);
}

/**
 * The block list of `data` (a file's bytes from a block boundary): its blocks of `blockSize` bytes fingerprinted and
 * hashed with `hasher`, the last one left out if shorter than FINGERPRINT_BYTES. Entries are 4 + `hasher.bytes`.
 *
 * @example
 * ```ts
 * const list = blockListOf(bytes, await createBlockHasher("blake3")); // what files.put.chunks with `blocks` lists
 * ```
 */
export function blockListOf(data: Uint8Array, hasher: BlockHasher, blockSize = BLOCK_SIZE): Buffer {
  const entry = 4 + hasher.bytes;
  const list = Buffer.allocUnsafe(Math.ceil(data.length / blockSize) * entry);
  let entries = 0;
  for (let start = 0; start < data.length; start += blockSize) {
    const end = Math.min(start + blockSize, data.length);
    if (end - start < FINGERPRINT_BYTES) break; // only the file's last block can be this short
    writeBlockEntry(list, entries * entry, data.subarray(start, end), hasher);
    entries += 1;
  }
  return list.subarray(0, entries * entry);
}

/**
 * The block list of a whole file (a {@link ChunkLister}): read once in 4 MiB steps (for xxh128 into the memory its
 * hasher hashes in place), each step's blocks listed ({@link blockListOf}) and that part of the list handed to
 * `onPart` as it is made. Blocks are BLOCK_SIZE unless `blockSize` says otherwise (a power of two).
 */
export const listBlocks = async (file: FileHandle, size: number, algorithm: BlockHashName, whole?: Pick<ContentHash, "update">, onPart?: OnListPart, blockSize = BLOCK_SIZE): Promise<Buffer> => {
  const { hasher, buffer } = await blockHasherWithBuffer(algorithm, Math.max(1, Math.min(size, Math.max(blockSize, READ_BLOCKS * BLOCK_SIZE))));
  const parts: Buffer[] = [];
  for (let at = 0; at < size; ) {
    const want = Math.min(buffer.length, size - at);
    const { bytesRead } = await file.read(buffer, 0, want, at);
    if (bytesRead !== want) throw new Error(`the file changed while it was read: it ended at ${at + bytesRead}, before ${size}`);
    whole?.update(buffer.subarray(0, want));
    const part = blockListOf(buffer.subarray(0, want), hasher, blockSize);
    parts.push(part);
    at += want;
    if (part.length > 0) await onPart?.(part);
  }
  return Buffer.concat(parts);
};

/**
 * The most blocks of one fingerprint a scan tries at a position. A list comes from the other side: one whose blocks
 * all share a fingerprint (a file of zeros has one, and a list may name it for every block with a different hash)
 * would make every position of a scan try them all, a core's work for hours. Blocks of the same content are linked
 * once; past this many of one fingerprint, the others are found only where they follow a match (the next block is
 * always tried there).
 */
export const MAX_FINGERPRINT_CHAIN = 32;

/**
 * The sender's view of a receiver's block list as it streams in: each block's hash and length, the blocks by
 * fingerprint (a bit table of fingerprints first, so that most positions of a scan cost one read of it; at most
 * MAX_FINGERPRINT_CHAIN of one fingerprint, each of another content), how much of the base is listed, and a wait
 * for more.
 */
export class BlockIndex {
  readonly blockSize: number;
  readonly baseSize: number;
  /** Bytes per entry of the list: the fingerprint and the block hash. */
  readonly #entry: number;
  #hashes: Buffer[] = [];
  #first = new Map<number, number>();
  #next: number[] = [];
  /** One bit per 256 fingerprints (2 MiB): a scan's false hits stay near 0.1% of its bytes with 16,384 blocks (1 GiB). */
  readonly #bits: Int32Array;
  #done = false;
  #failure: unknown = null;
  #wake: (() => void) | null = null;

  /**
   * `bits`: where to keep the fingerprints' bits (a roller's, delta-roller.ts), zeroed, BIT_WORDS long;
   * `digestBytes`: the block hash's length (32, or 16 for xxh128).
   */
  constructor(blockSize: number, baseSize: number, bits: Int32Array = new Int32Array(BIT_WORDS), digestBytes = 32) {
    if (bits.length !== BIT_WORDS) throw new RangeError(`a block index's bit table is ${BIT_WORDS} words, not ${bits.length}`);
    if (!Number.isSafeInteger(blockSize) || blockSize < FINGERPRINT_BYTES || blockSize > 0xffffffff) throw new RangeError(`a block list's block size must be an integer from ${FINGERPRINT_BYTES}, not ${blockSize}`);
    if (!Number.isSafeInteger(baseSize) || baseSize < 0) throw new RangeError(`a base's size must be a non-negative integer, not ${baseSize}`);
    this.blockSize = blockSize;
    this.baseSize = baseSize;
    this.#bits = bits;
    this.#entry = 4 + digestBytes;
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
    const entry = this.#entry;
    if (part.length % entry !== 0) throw new RangeError(`a block list is a multiple of ${entry} bytes, not ${part.length}`);
    const owned = Buffer.from(part); // the frame's buffer is not ours to keep
    for (let at = 0; at < owned.length; at += entry) {
      const k = this.#hashes.length;
      if (this.length(k) < FINGERPRINT_BYTES) throw new RangeError(`a block list of a ${this.baseSize}-byte base has no block ${k}`);
      const print = owned.readInt32BE(at);
      const hash = owned.subarray(at + 4, at + entry);
      this.#hashes.push(hash);
      if (this.#linkable(print, hash)) {
        this.#next.push(this.#first.get(print) ?? -1);
        this.#first.set(print, k);
        this.#bits[print >>> 13] |= 1 << ((print >>> 8) & 31);
      } else {
        this.#next.push(-1); // not in its fingerprint's chain: found only right after a match
      }
    }
    this.#notify();
  }

  /** Whether a block of fingerprint `print` and hash `hash` is to be linked: its chain is short, and has no block like it. */
  #linkable(print: number, hash: Buffer): boolean {
    let length = 0;
    for (let k = this.#first.get(print) ?? -1; k >= 0; k = this.#next[k]) {
      if (this.#hashes[k].equals(hash)) return false;
      length += 1;
    }
    return length < MAX_FINGERPRINT_CHAIN;
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
