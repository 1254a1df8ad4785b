import type { FileHandle } from "node:fs/promises";
import { WharfError } from "../../wire/index.js";
import { FileErrorCode } from "./errors.js";
import { chunkFile, type Chunk } from "./chunker.js";
import { recipeStream } from "./delta-client.js";
import { ChunkListCache } from "./delta-list-cache.js";
import { chunksOfList, decodeChunkList, planSteps, recipeSize } from "./delta-ops.js";
import type { ContentHash, HashAlgorithm } from "./hash.js";

/**
 * The chunk lists of the last few stored files sent as deltas, by file identity (delta-list-cache.ts): a version
 * fetched by several clients, or again, is chunked once (about a CPU second per GiB, on the critical path of
 * every delta get: the server's pass starts only once the client's list has arrived).
 */
const storedListings = new ChunkListCache();

/**
 * The server's side of a delta download (issue 15): cuts bytes [offset, end) of the file into content-defined
 * chunks hashed with `chunkAlgorithm` (the client's chunk list says which), feeding every byte to `whole`; `verify`
 * then checks the whole-file hash against the record before a byte leaves; the reply body is the recipe against
 * the client's chunk list. A whole file (`offset` 0) whose listing is still in memory from an earlier pass over the
 * same unchanged file is not read again, nor checked again: the client checks what it built against the record's
 * hash in the reply header, so a file changed behind the server's back fails there (E_INTEGRITY), never stored.
 * The returned stream owns `file` and closes it (also through `destroy()`).
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
  let theirs: ReturnType<typeof decodeChunkList>;
  try {
    theirs = decodeChunkList(clientList);
  } catch (err) {
    throw new WharfError(FileErrorCode.INVALID_PARAMS, `a get's chunk list is malformed: ${(err as Error).message}`);
  }
  let chunks: Chunk[];
  if (offset === 0) {
    const listing = await storedListings.listing(file, chunkAlgorithm, whole);
    chunks = chunksOfList(listing.list);
    if (listing.fresh) verify(); // else unchanged since a pass that was checked (or the client's own check decides)
  } else {
    chunks = await chunkFile(file, offset, end, chunkAlgorithm, whole);
    verify();
  }
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
