import type { BigIntStats } from "node:fs";
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
  readonly #entries = new Map<string, string>();
  readonly #capacity: number;

  /** `capacity`: files remembered, the least recently used forgotten first (default 4096, about 0.5 MiB). */
  constructor(capacity = 4096) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError("capacity must be a non-negative integer");
    this.#capacity = capacity;
  }

  /** True when this file, unchanged, was sent whole and matched `hex` in `algorithm`. */
  has(info: BigIntStats, algorithm: HashAlgorithm, hex: string): boolean {
    const key = identity(info, algorithm);
    const known = this.#entries.get(key);
    if (known !== hex) return false;
    this.#entries.delete(key); // most recently used last
    this.#entries.set(key, known);
    return true;
  }

  /** The file was just sent whole and its bytes matched `hex`. */
  add(info: BigIntStats, algorithm: HashAlgorithm, hex: string): void {
    if (this.#capacity === 0) return;
    const key = identity(info, algorithm);
    this.#entries.delete(key);
    this.#entries.set(key, hex);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity) break;
      this.#entries.delete(oldest);
    }
  }
}

function identity(info: BigIntStats, algorithm: HashAlgorithm): string {
  return [algorithm, info.dev, info.ino, info.size, info.mtimeNs, info.ctimeNs].join(":");
}
