import type { IHasher } from "hash-wasm";
import xxhash128Build from "hash-wasm/dist/xxhash128.umd.min.js";
import { instantiateOver, wasmMemoryOf, type WasmMemory } from "./chunker-wasm.js";
import { hashBytes, isHashAlgorithm, type HashAlgorithm } from "./hash.js";

/**
 * The hashes a delta put's block list (delta-blocks.ts) may be made with: the transfer's own (32 bytes), or
 * XXH3-128 (`xxh128`, 16 bytes), which the sender asks for (issue 15). A block hash only confirms that a block the
 * fingerprints point at is the one listed; the whole file's hash, in the transfer's algorithm, still decides
 * whether what was built is what was sent, so a hash that is fast rather than collision-resistant is enough here,
 * as rsync's block sums are.
 */
export type BlockHashName = HashAlgorithm | "xxh128";

/** True for a name {@link createBlockHasher} knows. */
export function isBlockHashName(value: unknown): value is BlockHashName {
  return value === "xxh128" || isHashAlgorithm(value);
}

/** The length of a block hash's digest. */
export function blockHashBytes(name: BlockHashName): number {
  return name === "xxh128" ? 16 : 32;
}

/** Bytes per entry of a list hashed with `name` (delta-ops.ts, delta-blocks.ts): a `u32`, then the hash. */
export function listEntryBytes(name: BlockHashName): number {
  return 4 + blockHashBytes(name);
}

/** Bytes an xxh128 instance keeps in the memory it hashes in: its secret (192) and its result (16). */
export const XXH128_SCRATCH = 256;

/** Inputs this long or shorter take XXH3's short paths, which wasm/xxh128.wat leaves to hash-wasm. */
const SHORT_INPUT = 240;

/** Hashes blocks: `digest(data)` is the block hash of `data` (its digest in canonical, big-endian, form). */
export interface BlockHasher {
  readonly name: BlockHashName;
  /** The digest's length. */
  readonly bytes: number;
  /** Where xxh128 is hashed: "wasm" for data in the memory it was made over, else "portable" (hash-wasm). */
  readonly kind: "wasm" | "portable" | "native";
  digest(data: Uint8Array): Buffer;
}

/** A memory to hash in and the XXH128_SCRATCH bytes of it the hasher may use. */
export interface HasherHome {
  memory: WasmMemory;
  scratch: number;
}

let portable: Promise<IHasher> | undefined;

/**
 * A block hasher. For `xxh128` over `home`: data that lies in that memory (read into it) is hashed in place by
 * wasm/xxh128.wat (SIMD, about 20 GB/s on one core where native BLAKE3 hashes 64 KiB blocks at 5.3); other data,
 * inputs of 240 bytes or less, or a module that cannot load go to hash-wasm's xxhash128, with the same result.
 *
 * @example
 * ```ts
 * const hasher = await createBlockHasher("xxh128");
 * hasher.digest(Buffer.from("block")).toString("hex"); // XXH3-128 of "block", as xxhsum -H2 prints it
 * ```
 */
export async function createBlockHasher(name: BlockHashName, home?: HasherHome): Promise<BlockHasher> {
  if (name !== "xxh128") return { name, bytes: 32, kind: "native", digest: (data) => hashBytes(name, data) };
  const fallback = await (portable ??= xxhash128Build.createXXHash128());
  const portableDigest = (data: Uint8Array): Buffer => {
    fallback.init();
    fallback.update(data);
    return Buffer.from(fallback.digest("binary"));
  };
  const exports = home === undefined ? null : instantiateOver("xxh128", home.memory, { base: home.scratch });
  if (home === undefined || exports === null) return { name, bytes: 16, kind: "portable", digest: portableDigest };
  const hash = exports.hash as (at: number, length: number) => void;
  const { memory } = home;
  const result = home.scratch + 192;
  return {
    name,
    bytes: 16,
    kind: "wasm",
    digest(data) {
      if (data.length <= SHORT_INPUT || data.buffer !== memory.buffer) return portableDigest(data);
      hash(data.byteOffset, data.length);
      // low64 then high64, little-endian: reversed, the canonical high64 then low64, big-endian.
      return Buffer.from(new Uint8Array(memory.buffer, result, 16)).reverse();
    },
  };
}

/**
 * A block hasher and a buffer of `size` bytes to read blocks into, which it hashes in place (for xxh128 the
 * buffer lies in a WebAssembly memory of its own; otherwise it is a plain buffer).
 *
 * @example
 * ```ts
 * const { hasher, buffer } = await blockHasherWithBuffer("xxh128", 4 << 20);
 * const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
 * hasher.digest(buffer.subarray(0, 65536)); // the first block's hash, computed where it was read
 * ```
 */
export async function blockHasherWithBuffer(name: BlockHashName, size: number): Promise<{ hasher: BlockHasher; buffer: Buffer }> {
  if (name !== "xxh128") return { hasher: await createBlockHasher(name), buffer: Buffer.allocUnsafeSlow(size) };
  const memory = wasmMemoryOf(XXH128_SCRATCH + size);
  return { hasher: await createBlockHasher(name, { memory, scratch: 0 }), buffer: Buffer.from(memory.buffer, XXH128_SCRATCH, size) };
}
