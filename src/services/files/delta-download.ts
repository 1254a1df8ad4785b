import type { FileHandle } from "node:fs/promises";
import { chunkFile } from "./chunker.js";
import { recipeStream } from "./delta-client.js";
import { decodeChunkList, planSteps, recipeSize } from "./delta-ops.js";
import type { ContentHash, HashAlgorithm } from "./hash.js";

/**
 * The server's side of a delta download (issue 15): cuts bytes [offset, end) of the file into content-defined
 * chunks hashed with `chunkAlgorithm` (the client's chunk list says which), feeding every byte to `whole`; `verify`
 * then checks the whole-file hash against the record before a byte leaves; the reply body is the recipe against
 * the client's chunk list. The returned stream owns `file` and closes it (also through `destroy()`).
 */
export async function deltaReplyBody(
  file: FileHandle,
  offset: number,
  end: number,
  whole: ContentHash,
  chunkAlgorithm: HashAlgorithm,
  clientList: Buffer,
  verify: () => void,
): Promise<{ size: number; literal: number; stream: AsyncIterable<Buffer> & { destroy(): void } }> {
  const theirs = decodeChunkList(clientList);
  const chunks = await chunkFile(file, offset, end, chunkAlgorithm, whole);
  verify();
  const steps = planSteps(chunks, theirs);
  const { size, literal } = recipeSize(steps);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    file.close().catch(() => {});
  };
  return {
    size,
    literal,
    stream: {
      destroy: close,
      async *[Symbol.asyncIterator]() {
        try {
          yield* recipeStream(file, steps);
        } finally {
          close();
        }
      },
    },
  };
}
