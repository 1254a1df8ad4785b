import { readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { Connection, Reply } from "../../client/index.js";
import type { ReplyHeader } from "../../wire/index.js";
import { chunkFile } from "./chunker.js";
import { blockHashBytes, createBlockHasher, isBlockHashName, type BlockHasher, type BlockHashName } from "./block-hash.js";
import { BlockIndex } from "./delta-blocks.js";
import { recipeStream, type DeltaOutcome } from "./delta-client.js";
import { decodeChunkList, planSteps, recipeSize, type Step } from "./delta-ops.js";
import { MAX_BLOCK, SEARCH_READ, searchBlocks, type RecipeSlice } from "./delta-search.js";
import { createRoller, type Roller } from "./delta-roller.js";
import type { ContentHash, HashAlgorithm } from "./hash.js";
import { clientIoBlocking, hashFileRange, nextTurn, sendPool } from "./hashing-io.js";
import { FileRequest } from "./requests.js";

/** How far past a position the server's block list must reach before nothing found there counts as missing. */
export const DELTA_LOOKAHEAD = 64 * 1024 * 1024;

/** The bytes of the file one recipe slice covers. */
export const DELTA_SLICE = 64 * 1024 * 1024;

/** Recipe slices on their way at once: one being built by the server, the next behind it. */
const SLICES_IN_FLIGHT = 2;

/** Recipe slices held back while the server still lists (16 GiB of the file). */
const MAX_HELD = 256;

/** Tuning of {@link sendDelta}, for tests: smaller slices and lookahead exercise them on small files. */
export interface DeltaTuning {
  slice?: number;
  lookahead?: number;
}

/** The block hash asked for: XXH3-128, four times as fast as BLAKE3 here (block-hash.ts). */
const BLOCK_HASH: BlockHashName = "xxh128";

/** What the server said of its version: a block list as it streams in, or (a server from before them) chunks. */
type BaseList = { blocks: BlockIndex; roller: Roller; blockHash: BlockHashName } | { chunks: Buffer };

/**
 * The sender's side of a delta upload (issue 15), after a begin that granted one. The server is asked for its
 * current version as a block list (delta-blocks.ts), which it streams as it reads; the new version is searched for
 * those blocks as the list comes (delta-block-match.ts), and the recipe (COPY for the blocks found, DATA for the
 * rest) goes out in slices of DELTA_SLICE bytes of the file once the list is complete, which the server builds
 * while the search goes on. The whole file is hashed into `whole` during the search's read. A server from before block lists answers with a
 * content-defined chunk list: the file is then chunked likewise and sent as one recipe.
 *
 * The caller then commits with `whole`'s digest, which the server compares with what it built, so a file that
 * changed between the search and the sending of its DATA fails the commit (E_INTEGRITY) rather than storing a mix.
 *
 * @example
 * ```ts
 * const whole = createContentHash("blake3");
 * const { literal } = await sendDelta(conn, file, upload, 0, size, "blake3", whole);
 * await conn.request(FileRequest.PUT_COMMIT, { upload, hash: `blake3:${whole.digest()}` });
 * ```
 */
export function sendDelta(
  conn: Connection,
  file: FileHandle,
  upload: string,
  offset: number,
  size: number,
  algorithm: HashAlgorithm,
  whole: ContentHash,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void; tuning?: DeltaTuning } = {},
): Promise<DeltaOutcome> {
  return new DeltaSender(conn, file, upload, algorithm, whole, options).send(offset, size);
}

class DeltaSender {
  readonly #conn: Connection;
  readonly #file: FileHandle;
  readonly #upload: string;
  readonly #algorithm: HashAlgorithm;
  readonly #whole: ContentHash;
  readonly #onBytes: ((n: number) => void) | undefined;
  readonly #slice: number;
  readonly #lookahead: number;
  /** Aborted on the first failure: every request of this delta is cancelled with it. */
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal;
  #failure: unknown = null;
  readonly #inFlight: Promise<unknown>[] = [];
  #literal = 0;
  #recipeBytes = 0;
  /** The buffers DATA is read into, shared by the slices, each given back once the socket took it. */
  readonly #buffers = sendPool(Number.MAX_SAFE_INTEGER);
  /** Reads block in a process that does one transfer at a time (hashing-io.ts, blockClientIo). */
  readonly #blocking = clientIoBlocking();

  constructor(conn: Connection, file: FileHandle, upload: string, algorithm: HashAlgorithm, whole: ContentHash, options: { signal?: AbortSignal; onBytes?: (n: number) => void; tuning?: DeltaTuning }) {
    this.#conn = conn;
    this.#file = file;
    this.#upload = upload;
    this.#algorithm = algorithm;
    this.#whole = whole;
    this.#onBytes = options.onBytes;
    this.#slice = options.tuning?.slice ?? DELTA_SLICE;
    this.#lookahead = options.tuning?.lookahead ?? DELTA_LOOKAHEAD;
    this.#signal = options.signal === undefined ? this.#stop.signal : AbortSignal.any([options.signal, this.#stop.signal]);
  }

  async send(offset: number, size: number): Promise<DeltaOutcome> {
    const listStop = new AbortController();
    const { first, listed } = this.#requestList(listStop.signal);
    const hashing = createBlockHasher(BLOCK_HASH).catch(() => {}); // loads what a hasher needs while the server lists
    try {
      const base = await first;
      await hashing;
      this.#check();
      if (offset > 0) await hashFileRange(this.#file, 0, offset, this.#whole, this.#signal);
      if ("chunks" in base) {
        const steps = planSteps(await chunkFile(this.#file, offset, size, this.#algorithm, this.#whole), decodeChunkList(base.chunks));
        await this.#sendSlice(offset, steps);
      } else {
        await this.#search(base.blocks, base.roller, await createBlockHasher(base.blockHash, base.roller.hasherHome), offset, size);
      }
      listStop.abort(); // everything is decided: the rest of the server's list would go unread
      while (this.#inFlight.length > 0) await this.#inFlight.shift();
      this.#check();
    } catch (err) {
      this.#fail(err);
      await Promise.all(this.#inFlight); // the caller closes the file: no read may be left in flight
      throw this.#failure;
    } finally {
      listStop.abort();
      await listed;
    }
    return { literal: this.#literal, recipeBytes: this.#recipeBytes };
  }

  #fail(err: unknown): void {
    this.#failure ??= err;
    this.#stop.abort(err);
  }

  #check(): void {
    if (this.#failure !== null) throw this.#failure;
  }

  /**
   * Asks for the server's list. `first` resolves with what its first frame says (a block list, fed on as more
   * frames come, or a whole chunk list); `listed` once the request is over, whatever its end.
   */
  #requestList(listStop: AbortSignal): { first: Promise<BaseList>; listed: Promise<void> } {
    let base: { blocks: BlockIndex; roller: Roller; blockHash: BlockHashName } | null = null;
    let settle!: (list: BaseList | null) => void;
    const first = new Promise<BaseList | null>((resolve) => (settle = resolve));
    const take = (header: ReplyHeader, body: Buffer): void => {
      if (base === null) {
        const block = Number(header.block);
        if (!Number.isSafeInteger(block) || block > MAX_BLOCK) throw new RangeError(`the server lists blocks of ${String(header.block)} bytes; at most ${MAX_BLOCK} are searched for`);
        // A server from before block hashes of their own hashes blocks with the upload's algorithm, and says nothing.
        const blockHash = header.blockHash ?? this.#algorithm;
        if (!isBlockHashName(blockHash)) throw new RangeError(`the server hashes blocks with ${String(blockHash)}, which this client does not know`);
        const roller = createRoller(SEARCH_READ + 2 * block);
        base = { blocks: new BlockIndex(block, Number(header.baseSize), roller.bits, blockHashBytes(blockHash)), roller, blockHash };
        settle(base);
      }
      base.blocks.add(body);
    };
    const listed = this.#conn
      .request(FileRequest.PUT_CHUNKS, { upload: this.#upload, blocks: true, blockHash: BLOCK_HASH }, undefined, {
        signal: AbortSignal.any([this.#signal, listStop]),
        onFrame: (header, body) => {
          try {
            take(header, body);
          } catch (err) {
            this.#fail(err);
          }
        },
      })
      .then((reply: Reply) => {
        if (reply.header.block === undefined && base === null) settle({ chunks: reply.body }); // a server from before block lists
        else {
          take(reply.header, reply.body);
          base?.blocks.finish();
        }
      })
      .catch((err: unknown) => {
        base?.blocks.fail(err);
        if (!listStop.aborted) this.#fail(err);
      })
      .finally(() => settle(null));
    return { first: first.then((list) => list ?? Promise.reject(this.#failure ?? new Error("the server's list did not come"))), listed };
  }

  /**
   * Sends the recipe slice `steps` for the file's bytes from `from` to `end` (no `end`: to the file's end, for a
   * server from before slices); waits while SLICES_IN_FLIGHT are on their way.
   */
  async #sendSlice(from: number, steps: Step[], end?: number): Promise<void> {
    const recipe = recipeSize(steps);
    this.#literal += recipe.literal;
    this.#recipeBytes += recipe.size;
    const reply = this.#conn.request(
      FileRequest.PUT_DELTA,
      { upload: this.#upload, offset: from, ...(end === undefined ? {} : { end }) },
      { size: recipe.size, stream: recipeStream(this.#file, steps, this.#onBytes, this.#buffers), release: this.#buffers.give },
      { signal: this.#signal },
    );
    this.#inFlight.push(reply.catch((err: unknown) => this.#fail(err)));
    while (this.#inFlight.length >= SLICES_IN_FLIGHT) await this.#inFlight.shift();
    this.#check();
  }

  /** Searches the file from `offset` for the server's blocks (delta-search.ts), sending the recipe slice by slice. */
  async #search(blocks: BlockIndex, roller: Roller, hasher: BlockHasher, offset: number, size: number): Promise<void> {
    const held: RecipeSlice[] = [];
    await searchBlocks({
      read: async (buffer, at, want, position) => {
        this.#check();
        if (!this.#blocking) return (await this.#file.read(buffer, at, want, position)).bytesRead;
        await nextTurn(); // replies and errors are read between blocking reads (hashing-io.ts)
        return readSync(this.#file.fd, buffer, at, want, position);
      },
      blocks,
      roller,
      hasher,
      offset,
      size,
      whole: this.#whole,
      slice: this.#slice,
      lookahead: this.#lookahead,
      // Slices wait until the server has listed its whole version: it lists with its core to itself, and builds
      // them after (the client searches on meanwhile). They are small, DATA being read from the file as it is sent;
      // beyond MAX_HELD of them (a very large file) they go anyway.
      onSearched: async (slice, atEnd) => {
        if (slice !== null) held.push(slice);
        while (held.length > 0 && (blocks.complete || atEnd || held.length > MAX_HELD)) {
          const next = held.shift()!;
          await this.#sendSlice(next.from, next.steps, next.to);
        }
      },
    });
  }
}
