import type { BigIntStats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { listEntryBytes, type BlockHashName } from "./block-hash.js";
import { chunkFile } from "./chunker.js";
import { encodeChunkList } from "./delta-ops.js";
import { fileVersionKey, RecentMap } from "./file-version.js";
import { isHashAlgorithm, type ContentHash } from "./hash.js";

/** A file's chunk list as `files.put.chunks` sends it. */
export interface ChunkListing {
  /** The encoded list (delta-ops.ts). */
  list: Buffer;
  chunks: number;
  size: number;
  /** True when this call chunked the file (and fed every byte to its `whole`); false when it came from memory. */
  fresh: boolean;
}

/** What a fresh listing hands on as it goes: each part of the encoded list, in order (the pass waits for it). */
export type OnListPart = (part: Buffer) => void | Promise<void>;

/**
 * How a listing is made when the cache has none: the whole file described as an encoded list of entries of 4 bytes
 * and a hash (content-defined chunks by default, handed on whole at the end), every byte fed to `whole` if given; a
 * lister that makes its list in parts (the block lister) hands each to `onPart` as it is made.
 */
export type ChunkLister = (file: FileHandle, size: number, algorithm: BlockHashName, whole?: Pick<ContentHash, "update">, onPart?: OnListPart) => Promise<Buffer>;

const chunkWholeFile: ChunkLister = async (file, size, algorithm, whole) => {
  if (!isHashAlgorithm(algorithm)) throw new RangeError(`content-defined chunks are hashed with blake3 or sha256, not ${algorithm}`);
  return encodeChunkList(await chunkFile(file, 0, size, algorithm, whole));
};

/** Lists longer than this (a base of about 14 GiB) are not kept: the cache stays a few MiB at most. */
const MAX_KEPT_LIST = 8 * 1024 * 1024;

/**
 * The chunk lists of the last few bases a server listed, by the file's version (fileVersionKey: device, inode,
 * size, mtime and ctime in ns) and the algorithm, so that a delta put that resumes or is retried against the same
 * base is not listed again: listing 1 GiB costs the server's core about a CPU second (issue 15). A write to the
 * file changes its ctime, so a changed base is listed afresh; a listing during which the file changed is not kept.
 * Whatever the list says, the commit's whole-file hash still decides: a stale list costs a failed commit and a
 * whole resend, never a wrong file.
 *
 * @example
 * ```ts
 * const cache = new ChunkListCache();
 * const { list, chunks } = await cache.listing(file, "blake3"); // chunked once, then served from memory
 * ```
 */
export class ChunkListCache {
  #entries: RecentMap<Omit<ChunkListing, "fresh">>;
  #lister: ChunkLister;

  /** `capacity`: lists kept (default 4); `maxBytes`: their bytes in all (default: capacity × MAX_KEPT_LIST). */
  constructor(options: { capacity?: number; maxBytes?: number; lister?: ChunkLister } = {}) {
    const capacity = options.capacity ?? 4;
    this.#entries = new RecentMap(capacity, { of: (listing) => listing.list.length, max: options.maxBytes ?? capacity * MAX_KEPT_LIST });
    this.#lister = options.lister ?? chunkWholeFile;
  }

  /**
   * Keeps `list` as the listing of the file version `info`: one this cache made, or one made by whoever wrote the
   * file (block-recorder.ts; `info` is its stat after it landed under its name), so that the first delta put onto
   * it is not listed. A list longer than MAX_KEPT_LIST is not kept.
   */
  remember(info: BigIntStats, algorithm: BlockHashName, list: Buffer): void {
    if (list.length > MAX_KEPT_LIST) return;
    this.#entries.set(fileVersionKey(info, algorithm), { list, chunks: list.length / listEntryBytes(algorithm), size: Number(info.size) });
  }

  /**
   * The listing of the open file `file`, hashed with `algorithm`: from the cache when the file is unchanged
   * (`fresh: false`), else by a listing pass that also feeds every byte to `whole` when given and hands the
   * list's parts to `onPart` as it makes them (when the list comes from memory, `onPart` is not called).
   */
  async listing(file: FileHandle, algorithm: BlockHashName, whole?: Pick<ContentHash, "update">, onPart?: OnListPart): Promise<ChunkListing> {
    const info = await file.stat({ bigint: true });
    const key = fileVersionKey(info, algorithm);
    const kept = this.#entries.get(key);
    if (kept !== undefined) return { ...kept, fresh: false };
    const size = Number(info.size);
    const list = await this.#lister(file, size, algorithm, whole, onPart);
    const after = await file.stat({ bigint: true });
    if (fileVersionKey(after, algorithm) === key) this.remember(after, algorithm, list); // unchanged while listed
    return { list, chunks: list.length / listEntryBytes(algorithm), size, fresh: true };
  }
}
