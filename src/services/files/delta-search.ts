import type { BlockHasher } from "./block-hash.js";
import { BlockMatcher } from "./delta-block-match.js";
import type { BlockIndex } from "./delta-blocks.js";
import { pushCopy, pushData, type Step } from "./delta-ops.js";
import type { Roller } from "./delta-roller.js";
import type { ContentHash } from "./hash.js";

/** Bytes of the new version read at once by the block search. */
export const SEARCH_READ = 4 * 1024 * 1024;

/** The largest block a list may have for a search to take it on (its buffer holds two blocks beyond a read). */
export const MAX_BLOCK = 16 * 1024 * 1024;

/**
 * A search hashes at most FALSE_HITS_AT_LEAST + 1 per BYTES_PER_FALSE_HIT of its file in vain (BlockMatcher's
 * `maxFalseHits`): for 1 GiB about 330,000 blocks of 64 KiB, a second or so of XXH3-128, about what the scan's rolling
 * costs. An honest list costs far fewer (its fingerprints' bit table is 0.1% full for 1 GiB of base, and a hash is
 * tried only where a looked-up bit is set); a list made to fail costs no more than this.
 */
const FALSE_HITS_AT_LEAST = 65_536;
const BYTES_PER_FALSE_HIT = 4096;

/** The steps of a recipe for the new version's bytes [from, to). */
export interface RecipeSlice {
  from: number;
  to: number;
  steps: Step[];
}

/** What {@link searchBlocks} searches, and how. */
export interface BlockSearch {
  /** Reads `want` bytes of the new version at `position` into `buffer` from `at`; resolves with the bytes read. */
  read(buffer: Buffer, at: number, want: number, position: number): Promise<number>;
  /** The receiver's list (it may still be streaming in), its bits in `roller.bits`. */
  blocks: BlockIndex;
  roller: Roller;
  /** Makes the hashes `blocks` lists (best made over `roller.hasherHome`: it hashes in place). */
  hasher: BlockHasher;
  /** The new version's bytes searched: [offset, size). */
  offset: number;
  size: number;
  /** Fed every byte searched, in order. */
  whole: Pick<ContentHash, "update">;
  /** Bytes of the file a slice covers (at least: a slice ends where the matcher has decided). */
  slice: number;
  /** Bytes the list must cover past a position before it is scanned, unless complete (delta-block-match.ts). */
  lookahead: number;
  /** Called after every read has been searched: with the slice just completed, if one was. */
  onSearched(slice: RecipeSlice | null, atEnd: boolean): Promise<void>;
}

/**
 * The block search of a delta, wherever it runs: reads the new version once, from `offset`, through the roller's
 * buffer, feeds every byte to `whole` and the matcher (delta-block-match.ts), and cuts what the matcher decided
 * into recipe slices of about `slice` bytes of the file. A delta put's sender runs it against the server's list
 * (delta-send.ts), a server runs it for a delta get against the client's (delta-download-blocks.ts). Fails if the
 * file is shorter than `size` (it changed meanwhile).
 *
 * @example
 * ```ts
 * const roller = createRoller(SEARCH_READ + 2 * blocks.blockSize);
 * await searchBlocks({ read, blocks, roller, hasher, offset: 0, size, whole, slice: 64 << 20, lookahead: 64 << 20, onSearched: async (slice) => {} });
 * ```
 */
export async function searchBlocks(search: BlockSearch): Promise<void> {
  const { blocks, roller, size } = search;
  let steps: Step[] = [];
  const sink = { copy: (at: number, n: number) => pushCopy(steps, at, n), data: (at: number, n: number) => pushData(steps, at, n) };
  const maxFalseHits = FALSE_HITS_AT_LEAST + Math.ceil((size - search.offset) / BYTES_PER_FALSE_HIT);
  const matcher = new BlockMatcher(blocks, roller, search.hasher, search.offset, sink, { lookahead: search.lookahead, maxFalseHits });
  const buffer = roller.buffer;
  let bufferStart = search.offset; // the file offset of buffer[0]
  let filled = 0;
  let sliceStart = search.offset;
  for (let position = search.offset; ; ) {
    const want = Math.min(buffer.length - filled, size - position);
    if (want > 0) {
      const bytesRead = await search.read(buffer, filled, want, position);
      if (bytesRead !== want) throw new Error(`the file changed while it was read: it ended at ${position + bytesRead}, before ${size}`);
      search.whole.update(buffer.subarray(filled, filled + want));
      filled += want;
      position += want;
    }
    const atEnd = position >= size;
    const keep = await matcher.feed(buffer.subarray(0, filled), bufferStart, atEnd);
    let slice: RecipeSlice | null = null;
    if (matcher.position - sliceStart >= search.slice || (atEnd && matcher.position > sliceStart)) {
      slice = { from: sliceStart, to: matcher.position, steps };
      steps = [];
      sliceStart = matcher.position;
    }
    await search.onSearched(slice, atEnd);
    if (atEnd) return;
    buffer.copyWithin(0, keep - bufferStart, filled);
    filled -= keep - bufferStart;
    bufferStart = keep;
  }
}
