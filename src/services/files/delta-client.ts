import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { AVG_CHUNK, chunkFile } from "./chunker.js";
import { encodeChunkList, encodeCopy, encodeDataHead, RecipeDecoder, type Step } from "./delta-ops.js";
import type { HashAlgorithm } from "./hash.js";
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

/** The receiver's side of a delta download: the base it builds from, and what it sent to describe it. */
export interface DownloadBase {
  file: FileHandle;
  size: number;
  algorithm: HashAlgorithm;
  list: Buffer;
}

/**
 * Opens the local file a get would replace and describes it by its chunks, when it is worth a delta (at least
 * DELTA_MIN_SIZE bytes); null otherwise. The caller closes `file`.
 */
export async function describeDownloadBase(path: string, algorithm: HashAlgorithm): Promise<DownloadBase | null> {
  let file: FileHandle | undefined;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const info = await file.stat();
    if (!info.isFile() || info.size < DELTA_MIN_SIZE) {
      await file.close();
      return null;
    }
    const list = encodeChunkList(await chunkFile(file, 0, info.size, algorithm));
    return { file, size: info.size, algorithm, list };
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
