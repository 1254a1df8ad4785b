import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Connection } from "../../client/index.js";
import type { ReplyHeader } from "../../wire/index.js";
import { AVG_CHUNK, chunkFile } from "./chunker.js";
import { BlockMatcher } from "./delta-block-match.js";
import { BlockIndex } from "./delta-blocks.js";
import { createRoller, type Roller } from "./delta-roller.js";
import { decodeChunkList, encodeChunkList, encodeCopy, encodeDataHead, planSteps, pushCopy, pushData, RecipeDecoder, recipeSize, type Step } from "./delta-ops.js";
import type { ContentHash, HashAlgorithm } from "./hash.js";
import { copyThrough, COPY_BLOCK, hashFileRange, readChunks } from "./hashing-io.js";
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

/** How far past a position the server's block list must reach before nothing found there counts as missing. */
export const DELTA_LOOKAHEAD = 64 * 1024 * 1024;

/** The bytes of the file one recipe slice covers. */
export const DELTA_SLICE = 64 * 1024 * 1024;

/** Recipe slices on their way at once: one being built by the server, the next behind it. */
const SLICES_IN_FLIGHT = 2;

/** Bytes of the new version read at once by the block search. */
const SEARCH_READ = 4 * 1024 * 1024;

/** The largest block a server may list that the search takes on (its buffer holds two blocks beyond a read). */
const MAX_BLOCK = 16 * 1024 * 1024;

/** Tuning of {@link sendDelta}, for tests: smaller slices and lookahead exercise them on small files. */
export interface DeltaTuning {
  slice?: number;
  lookahead?: number;
}

/**
 * The sender's side of a delta upload (issue 15), after a begin that granted one. The server is asked for its
 * current version as a block list (delta-blocks.ts), which it streams as it reads; the new version is searched for
 * those blocks as the list comes (delta-block-match.ts), and the recipe (COPY for the blocks found, DATA for the
 * rest) goes out in slices of DELTA_SLICE bytes of the file, so that the server builds while it still lists. The
 * whole file is hashed into `whole` during the search's read. A server from before block lists answers with a
 * content-defined chunk list: the file is then chunked likewise and sent as one recipe ({@link sendChunkDelta}).
 *
 * The caller then commits with `whole`'s digest, which the server compares with what it built, so a file that
 * changed between the search and the sending of its DATA fails the commit (E_INTEGRITY) rather than storing a mix.
 */
export async function sendDelta(
  conn: Connection,
  file: FileHandle,
  upload: string,
  offset: number,
  size: number,
  algorithm: HashAlgorithm,
  whole: ContentHash,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void; tuning?: DeltaTuning } = {},
): Promise<DeltaOutcome> {
  const slice = options.tuning?.slice ?? DELTA_SLICE;
  const lookahead = options.tuning?.lookahead ?? DELTA_LOOKAHEAD;
  const stop = new AbortController();
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  let failure: unknown = null;
  const fail = (err: unknown): void => {
    failure ??= err;
    stop.abort(err);
  };

  // The list: its first frame says whether it is a block list (and the block size), so the search waits for it.
  let roller: Roller | null = null;
  let index: BlockIndex | null = null;
  let first!: (header: ReplyHeader | null) => void;
  const firstFrame = new Promise<ReplyHeader | null>((resolve) => (first = resolve));
  const take = (header: ReplyHeader, body: Buffer): void => {
    if (index === null) {
      const block = Number(header.block);
      if (!Number.isSafeInteger(block) || block > MAX_BLOCK) throw new RangeError(`the server lists blocks of ${String(header.block)} bytes; at most ${MAX_BLOCK} are searched for`);
      roller = createRoller(SEARCH_READ + 2 * block);
      index = new BlockIndex(block, Number(header.baseSize), roller.bits);
    }
    index.add(body);
  };
  const listStop = new AbortController();
  let chunkList: Buffer | null = null;
  const listed = conn
    .request(FileRequest.PUT_CHUNKS, { upload, blocks: true }, undefined, {
      signal: AbortSignal.any([signal, listStop.signal]),
      onFrame: (header, body) => {
        try {
          take(header, body);
        } catch (err) {
          fail(err);
        }
        first(header);
      },
    })
    .then(
      (reply) => {
        if (reply.header.block === undefined) chunkList = reply.body; // a server from before block lists
        else take(reply.header, reply.body);
        index?.finish();
        first(reply.header);
      },
      (err: unknown) => {
        index?.fail(err);
        first(null);
        if (!listStop.signal.aborted) fail(err);
      },
    )
    .catch(fail);

  let literal = 0;
  let recipeBytes = 0;
  const inFlight: Promise<unknown>[] = [];
  const sendSlice = async (from: number, to: number, steps: Step[], header: Record<string, unknown>): Promise<void> => {
    const recipe = recipeSize(steps);
    literal += recipe.literal;
    recipeBytes += recipe.size;
    const reply = conn.request(FileRequest.PUT_DELTA, { upload, offset: from, ...header }, { size: recipe.size, stream: recipeStream(file, steps, options.onBytes) }, { signal });
    inFlight.push(reply.catch(fail));
    while (inFlight.length >= SLICES_IN_FLIGHT) await inFlight.shift();
    if (failure !== null) throw failure;
  };

  try {
    await firstFrame;
    if (failure !== null) throw failure;
    if (index === null) {
      await listed;
      if (failure !== null) throw failure;
      if (chunkList === null) throw new Error("the server's list did not come");
      if (offset > 0) await hashFileRange(file, 0, offset, whole, signal);
      const steps = planSteps(await chunkFile(file, offset, size, algorithm, whole), decodeChunkList(chunkList));
      await sendSlice(offset, size, steps, {});
    } else {
      const blocks: BlockIndex = index;
      let steps: Step[] = [];
      const search: Roller = roller!;
      const matcher = new BlockMatcher(blocks, search, algorithm, offset, { copy: (at, n) => pushCopy(steps, at, n), data: (at, n) => pushData(steps, at, n) }, { lookahead });
      if (offset > 0) await hashFileRange(file, 0, offset, whole, signal);
      const buffer = search.buffer;
      let bufferStart = offset; // the file offset of buffer[0]
      let filled = 0;
      let sliceStart = offset;
      for (let position = offset; ; ) {
        if (failure !== null) throw failure;
        const want = Math.min(buffer.length - filled, size - position);
        if (want > 0) {
          const { bytesRead } = await file.read(buffer, filled, want, position);
          if (bytesRead !== want) throw new Error(`the file changed while it was read: it ended at ${position + bytesRead}, before ${size}`);
          whole.update(buffer.subarray(filled, filled + want));
          filled += want;
          position += want;
        }
        const atEnd = position >= size;
        const keep = await matcher.feed(buffer.subarray(0, filled), bufferStart, atEnd);
        if (matcher.position - sliceStart >= slice || (atEnd && matcher.position > sliceStart)) {
          await sendSlice(sliceStart, matcher.position, steps, { end: matcher.position });
          steps = [];
          sliceStart = matcher.position;
        }
        if (atEnd) break;
        buffer.copyWithin(0, keep - bufferStart, filled);
        filled -= keep - bufferStart;
        bufferStart = keep;
      }
    }
    listStop.abort(); // everything is decided: the rest of the server's list would go unread
    while (inFlight.length > 0) await inFlight.shift();
    if (failure !== null) throw failure;
  } catch (err) {
    fail(err);
    await Promise.all(inFlight); // the caller closes `file`: no read may be left in flight
    throw failure;
  } finally {
    listStop.abort();
    await listed;
  }
  return { literal, recipeBytes };
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
