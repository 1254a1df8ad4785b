import type { BigIntStats } from "node:fs";
import { fileVersionKey, RecentMap } from "./file-version.js";
import type { HashAlgorithm } from "./hash.js";

/**
 * The stored files this process has sent whole and found to match their record (issue 15), by the file's identity
 * (device, inode, size, mtime and ctime in ns), the algorithm and the recorded digest. A get of a file found here
 * skips the server's own check of the stored bytes (a BLAKE3 pass, 0.14 CPU s per GiB): a file fetched by many
 * clients is checked once per server process, not once per get. Any write to the file changes its ctime, so a file
 * changed behind the server's back is checked again; what this cannot see is a disk that rots the bytes of an
 * unchanged file after they were checked, and the client, which always checks what it received against the record,
 * catches that (`E_INTEGRITY`, nothing kept).
 *
 * @example
 * ```ts
 * const reads = new VerifiedReads();
 * if (!reads.has(info, "blake3", hex)) {
 *   // hash what is sent; when it matches:
 *   reads.add(info, "blake3", hex);
 * }
 * ```
 */
export class VerifiedReads {
  /** The digest each file version was found to match, by fileVersionKey. */
  readonly #digests: RecentMap<string>;

  /** `capacity`: files remembered, the least recently used forgotten first (default 4096, about 0.5 MiB). */
  constructor(capacity = 4096) {
    this.#digests = new RecentMap(capacity);
  }

  /** True when this file, unchanged, was sent whole and matched `hex` in `algorithm`. */
  has(info: BigIntStats, algorithm: HashAlgorithm, hex: string): boolean {
    return this.#digests.get(fileVersionKey(info, algorithm)) === hex;
  }

  /** The file was just sent whole and its bytes matched `hex`. */
  add(info: BigIntStats, algorithm: HashAlgorithm, hex: string): void {
    this.#digests.set(fileVersionKey(info, algorithm), hex);
  }
}
