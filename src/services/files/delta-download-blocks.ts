import type { FileHandle } from "node:fs/promises";
import type { RequestContext } from "../../server/index.js";
import { Semaphore } from "../../sync/index.js";
import { WharfError } from "../../wire/index.js";
import { blockHashBytes, createBlockHasher, type BlockHashName } from "./block-hash.js";
import { recipeStream } from "./delta-client.js";
import { BlockIndex, FINGERPRINT_BYTES, MAX_GET_BLOCK_LIST } from "./delta-blocks.js";
import { recipeSize, type Step } from "./delta-ops.js";
import { createRoller } from "./delta-roller.js";
import { MAX_BLOCK, SEARCH_READ, searchBlocks } from "./delta-search.js";
import { FileErrorCode } from "./errors.js";
import type { ContentHash } from "./hash.js";

/** The bytes of the new version one recipe slice covers: each is framed and sent as soon as it is decided. */
const GET_SLICE = 8 * 1024 * 1024;

/** A recipe frame is sent once it holds this much (a slice's COPY operations, DATA heads and bytes). */
const FRAME_BYTES = 1024 * 1024;

/** The client's older version, as its get describes it: a block list (delta-blocks.ts) and what it says it is. */
export interface ClientBlocks {
  /** The blocks' hash. */
  blockHash: BlockHashName;
  /** The blocks' size. */
  block: number;
  /** The size of the client's version (its last block may be shorter than `block`). */
  baseSize: number;
  list: Buffer;
}

/** What a block delta sent: DATA bytes, and the recipe's size in all. */
export interface BlockDeltaOutcome {
  literal: number;
  recipeBytes: number;
}

/**
 * Block searches for delta gets that one process runs at once; more wait their turn, first come first served. Each
 * holds about 7 MiB while it runs (its roller's buffer, 4 MiB and two blocks, and the fingerprints' bit table, 2
 * MiB) and a core's worth of work: more at once would only share the cores and hold more memory.
 */
export const MAX_BLOCK_SEARCHES = 4;

const searchSlots = new Semaphore(MAX_BLOCK_SEARCHES);

/**
 * Runs `work` (a delta get's pass over its file) once one of the MAX_BLOCK_SEARCHES slots is free; rejects without
 * running it when `signal` aborts first (the client went away while it waited).
 */
export async function inSearchSlot<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  await searchSlots.acquire({ signal });
  try {
    return await work();
  } finally {
    searchSlots.release();
  }
}

/** Checks what a client says of its older version before anything is allocated for it (`E_INVALID_PARAMS`). */
function checkClientBlocks(base: ClientBlocks): void {
  const { block, list } = base;
  if (!Number.isSafeInteger(block) || block < FINGERPRINT_BYTES || block > MAX_BLOCK) {
    throw new WharfError(FileErrorCode.INVALID_PARAMS, `a get's block list has blocks of ${FINGERPRINT_BYTES} to ${MAX_BLOCK} bytes, not ${block}`);
  }
  if (list.length > MAX_GET_BLOCK_LIST) throw new WharfError(FileErrorCode.INVALID_PARAMS, `a get's block list is at most ${MAX_GET_BLOCK_LIST} bytes, not ${list.length}`);
}

/**
 * Indexes a client's description of its older version for a search; one that does not fit its base is the client's
 * error (`E_INVALID_PARAMS`).
 */
function indexClientBlocks(base: ClientBlocks): { index: BlockIndex; roller: ReturnType<typeof createRoller> } {
  const { block, baseSize, list } = base;
  const roller = createRoller(SEARCH_READ + 2 * block);
  let index: BlockIndex;
  try {
    index = new BlockIndex(block, baseSize, roller.bits, blockHashBytes(base.blockHash));
    index.add(list);
  } catch (err) {
    throw new WharfError(FileErrorCode.INVALID_PARAMS, `a get's block list does not fit its base: ${(err as Error).message}`);
  }
  index.finish();
  return { index, roller };
}

/**
 * The server's side of a delta get (issue 15), rsync's split: the client describes its older version by fixed
 * blocks (cheap for it: one read and an XXH3-128 per block), and the server searches the stored version for them
 * with the same matcher a delta put's sender uses (delta-search.ts), sending the recipe as it decides it: first
 * `first` (the reply's header fields, so that the client can start), then intermediate frames whose bodies are
 * consecutive pieces of the recipe (delta-ops.ts encoding, cut anywhere), each sent once the connection takes it.
 * Bytes [offset, size) of `file` are searched, and go to `whole` (the caller hashed the prefix before `offset`).
 * The caller sends the final frame and closes `file`. At most MAX_BLOCK_SEARCHES run at once; the others wait (a
 * cancelled request stops waiting).
 */
export async function sendBlockDelta(file: FileHandle, offset: number, size: number, whole: Pick<ContentHash, "update">, base: ClientBlocks, ctx: RequestContext, first: Record<string, unknown>): Promise<BlockDeltaOutcome> {
  checkClientBlocks(base);
  return inSearchSlot(ctx.signal, () => searchForClient(file, offset, size, whole, base, ctx, first));
}

async function searchForClient(file: FileHandle, offset: number, size: number, whole: Pick<ContentHash, "update">, base: ClientBlocks, ctx: RequestContext, first: Record<string, unknown>): Promise<BlockDeltaOutcome> {
  const { index, roller } = indexClientBlocks(base);
  const hasher = await createBlockHasher(base.blockHash, roller.hasherHome);
  await ctx.send(first);
  const outcome: BlockDeltaOutcome = { literal: 0, recipeBytes: 0 };
  await searchBlocks({
    read: async (buffer, at, want, position) => {
      ctx.signal.throwIfAborted();
      return (await file.read(buffer, at, want, position)).bytesRead;
    },
    blocks: index,
    roller,
    hasher,
    offset,
    size,
    whole,
    slice: GET_SLICE,
    lookahead: 0, // the list is complete
    onSearched: async (slice) => {
      if (slice === null) return;
      const { size: bytes, literal } = recipeSize(slice.steps);
      outcome.literal += literal;
      outcome.recipeBytes += bytes;
      await sendRecipe(file, slice.steps, ctx);
    },
  });
  return outcome;
}

/** Sends the encoded recipe for `steps` in intermediate frames of about FRAME_BYTES, DATA read from `file`. */
async function sendRecipe(file: FileHandle, steps: readonly Step[], ctx: RequestContext): Promise<void> {
  let pieces: Buffer[] = [];
  let held = 0;
  const flush = async (): Promise<void> => {
    if (held === 0) return;
    const body = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, held);
    pieces = [];
    held = 0;
    await ctx.send({}, body);
  };
  for await (const piece of recipeStream(file, steps)) {
    pieces.push(piece);
    held += piece.length;
    if (held >= FRAME_BYTES) await flush();
  }
  await flush();
}
