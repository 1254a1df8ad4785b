import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Connection } from "../../client/index.js";
import { AVG_CHUNK, chunkFile } from "./chunker.js";
import { decodeChunkList, encodeChunkList, encodeCopy, encodeDataHead, planSteps, RecipeDecoder, recipeSize, type Step } from "./delta-ops.js";
import type { ContentHash, HashAlgorithm } from "./hash.js";
import { copyThrough, COPY_BLOCK, readChunks } from "./hashing-io.js";
import { FileRequest } from "./requests.js";

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
 * chunk or two whatever the file's size), with `onBytes` told of every content byte covered (progress).
 */
export async function* recipeStream(file: FileHandle, steps: readonly Step[], onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  for (const step of steps) {
    if (step.copy) {
      yield encodeCopy(step.baseOffset, step.length);
      onBytes?.(step.length);
      continue;
    }
    yield encodeDataHead(step.length);
    for await (const chunk of readChunks(file, step.offset, step.offset + step.length)) {
      onBytes?.(chunk.length);
      yield chunk;
    }
  }
}

/**
 * The sender's side of a delta upload (issue 15), after a begin that granted one: fetches the chunk list of the
 * server's current version while it cuts the local file from `offset` into content-defined chunks, and sends a
 * recipe: COPY for the chunks the server has, DATA for the others. The whole file is hashed into `whole` while
 * the recipe goes out and the server builds from it (the client's core waits then; chunking is the critical
 * path, and taking the whole-file hash off it cut a delta put of 1 GiB by the hash's time). The caller then
 * commits with `whole`'s digest, which the server compares with what it built, so a file that changed between
 * the two reads fails the commit (E_INTEGRITY) rather than storing a mix.
 */
export async function sendDelta(
  conn: Connection,
  file: FileHandle,
  upload: string,
  offset: number,
  size: number,
  algorithm: HashAlgorithm,
  whole: ContentHash,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<DeltaOutcome> {
  const { signal } = options;
  const [listed, chunks] = await Promise.all([
    conn.request(FileRequest.PUT_CHUNKS, { upload }, undefined, { signal }),
    chunkFile(file, offset, size, algorithm),
  ]);
  const steps = planSteps(chunks, decodeChunkList(listed.body));
  const { size: recipeBytes, literal } = recipeSize(steps);
  let failed = false;
  const hashed = hashWholeFile(file, size, whole, () => failed || signal?.aborted === true);
  try {
    await conn.request(FileRequest.PUT_DELTA, { upload, offset }, { size: recipeBytes, stream: recipeStream(file, steps, options.onBytes) }, { signal });
  } catch (err) {
    failed = true;
    await hashed.catch(() => {}); // the caller closes `file`: no read may be left in flight
    throw err;
  }
  await hashed;
  return { literal, recipeBytes };
}

/** Feeds bytes [0, size) of `file` to `hash`, in 4 MiB reads into one buffer, until `stopped()` says so. */
async function hashWholeFile(file: FileHandle, size: number, hash: ContentHash, stopped: () => boolean): Promise<void> {
  const buffer = Buffer.allocUnsafeSlow(Math.min(size, 4 * 1024 * 1024));
  for (let at = 0; at < size; ) {
    if (stopped()) throw new Error("the delta upload stopped");
    const want = Math.min(buffer.length, size - at);
    const { bytesRead } = await file.read(buffer, 0, want, at);
    if (bytesRead !== want) throw new Error(`the file changed while it was read: it ended at ${at + bytesRead}, before ${size}`);
    hash.update(buffer.subarray(0, want));
    at += want;
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
