import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { listEntryBytes } from "./block-hash.js";
import { AVG_CHUNK } from "./chunker.js";
import { BLOCK_SIZE, listBlocks, MAX_GET_BLOCK_LIST } from "./delta-blocks.js";
import { MAX_BLOCK } from "./delta-search.js";
import { encodeCopy, encodeDataHead, RecipeDecoder, type Step } from "./delta-ops.js";
import type { ChunkPool } from "./chunk-pool.js";
import { copyThrough, COPY_BLOCK, readChunks } from "./hashing-io.js";

/** Files smaller than this are sent whole: a delta's extra round trip and chunking would cost more than it saves. */
export const DELTA_MIN_SIZE = 4 * AVG_CHUNK;

/** What a delta sent. */
export interface DeltaOutcome {
  /** Content bytes sent (DATA), the rest copied from the receiver's old version. */
  literal: number;
  /** The recipe's size on the wire, operations included. */
  recipeBytes: number;
}

/**
 * The encoded recipe for `steps`, reading the bytes of DATA steps from `file` as it goes (so memory stays at a
 * chunk or two whatever the file's size), with `onBytes` told of every content byte covered (progress). With
 * `pool`, DATA is read into its buffers (the request body's `release` gives them back: no fresh memory per read).
 */
export async function* recipeStream(file: FileHandle, steps: readonly Step[], onBytes?: (n: number) => void, pool?: ChunkPool): AsyncGenerator<Buffer> {
  for (const step of steps) {
    if (step.copy) {
      yield encodeCopy(step.baseOffset, step.length);
      onBytes?.(step.length);
      continue;
    }
    yield encodeDataHead(step.length);
    for await (const chunk of readChunks(file, step.offset, step.offset + step.length, undefined, pool)) {
      onBytes?.(chunk.length);
      yield chunk;
    }
  }
}

/** The receiver's side of a delta download: the base it builds from, and its block list (delta-blocks.ts). */
export interface DownloadBase {
  file: FileHandle;
  size: number;
  /** The blocks' hash: XXH3-128. */
  blockHash: "xxh128";
  /** The blocks' size: BLOCK_SIZE, or more for a base whose list would pass MAX_GET_BLOCK_LIST. */
  block: number;
  list: Buffer;
}

/**
 * The block size a base of `size` bytes is listed in: BLOCK_SIZE, doubled until its list fits in
 * MAX_GET_BLOCK_LIST; null when not even MAX_BLOCK does (a base of more than 6 TiB goes whole).
 */
export function downloadBlockSize(size: number): number | null {
  const entry = listEntryBytes("xxh128");
  for (let block = BLOCK_SIZE; block <= MAX_BLOCK; block *= 2) if (Math.ceil(size / block) * entry <= MAX_GET_BLOCK_LIST) return block;
  return null;
}

/**
 * Opens the local file a get would replace and describes it by its fixed blocks (XXH3-128 each, read once), when
 * it is worth a delta (at least DELTA_MIN_SIZE bytes); null otherwise. The caller closes `file`.
 */
export async function describeDownloadBase(path: string): Promise<DownloadBase | null> {
  let file: FileHandle | undefined;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const info = await file.stat();
    const block = downloadBlockSize(info.size);
    if (!info.isFile() || info.size < DELTA_MIN_SIZE || block === null) {
      await file.close();
      return null;
    }
    const list = await listBlocks(file, info.size, "xxh128", undefined, undefined, block);
    return { file, size: info.size, blockHash: "xxh128", block, list };
  } catch (err) {
    await file?.close();
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ELOOP") return null;
    throw err;
  }
}

/**
 * A decoder that builds the new version from a recipe: COPY ranges read from `base`, DATA bytes as they come, all
 * handed to `write` in order. `literal()` tells the DATA bytes received so far. COPY ranges go through one
 * reused buffer ({@link copyThrough}), once `settle()` says what was written from it is in the file.
 */
export function recipeBuilder(
  base: FileHandle,
  baseSize: number,
  write: (bytes: Buffer) => Promise<void>,
  settle: () => Promise<void>,
): { decoder: RecipeDecoder; literal: () => number } {
  let literal = 0;
  let buffer: Buffer | null = null;
  const decoder = new RecipeDecoder({
    copy: async (at, length) => {
      if (at + length > baseSize) throw new RangeError("the recipe copies past the end of the local file");
      buffer ??= Buffer.allocUnsafeSlow(Math.min(COPY_BLOCK, baseSize));
      await copyThrough(base, at, length, buffer, { write, settle, source: "the local file" });
    },
    data: async (bytes) => {
      literal += bytes.length;
      await write(bytes);
    },
  });
  return { decoder, literal: () => literal };
}
