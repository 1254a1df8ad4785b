import { open } from "node:fs/promises";
import type { FileEntry } from "./requests.js";

/** How a tree transfer decides that a file is already there. */
export interface QuickCheckOptions {
  /** Compare content hashes instead of size and mtime (`--checksum`): slower, since each local file is read. */
  checksum?: boolean;
}

/** A local file as the quick check sees it. */
export interface LocalFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** What a tree transfer did, for its summary line. */
export interface TreeTally {
  /** Files transferred (or, with `--dry-run`, that would be). */
  files: number;
  /** Content bytes that crossed the connection. */
  sent: number;
  /** Files skipped because the other side has them already. */
  skipped: number;
  /** The bytes of the skipped files, and of resumed prefixes and delta-matched chunks: not sent. */
  notSent: number;
}

/**
 * rsync's quick check, for `put -r` and `get -r`: a file is skipped when the other side's record has the same size
 * and the same modification time (within a millisecond: wharf keeps it to the millisecond across a transfer), or, with
 * `checksum`, the same size and the same content hash (the local file hashed with the algorithm the other side
 * recorded). A file the other side does not have, or that differs, is sent.
 *
 * @example
 * ```ts
 * const remote = new Map((await files.list("photos", { recursive: true })).map((e) => [e.path, e]));
 * if (await upToDate({ path: "a.jpg", size: 10, mtimeMs: 1717236000000 }, remote.get("photos/a.jpg"))) skip();
 * ```
 */
export async function upToDate(local: LocalFile, other: FileEntry | undefined, options: QuickCheckOptions = {}): Promise<boolean> {
  if (options.checksum !== true) return sameSizeAndTime(local, other);
  if (other === undefined || other.type !== "file" || other.size !== local.size) return false;
  // The hashes (and node:crypto) load only for --checksum: a size-and-time check starts faster without them.
  const { parseHash } = await import("./hash.js");
  const recorded = parseHash(other.hash ?? (other.sha256 === undefined ? undefined : `sha256:${other.sha256}`));
  if (recorded === null) return false;
  return (await hashLocalFile(local.path, recorded.algorithm)) === recorded.hex;
}

/**
 * The quick check without `checksum`, synchronous (a tree of 10,000 files compares without 10,000 promises): the
 * other side has a file of the same size and the same modification time, within a millisecond.
 *
 * @example
 * ```ts
 * sameSizeAndTime({ path: "a", size: 10, mtimeMs: 1717236000000.4 }, { path: "a", name: "a", type: "file", size: 10, mtime: 1717236000000 }); // true
 * ```
 */
export function sameSizeAndTime(local: LocalFile, other: FileEntry | undefined): boolean {
  if (other === undefined || other.type !== "file" || other.size !== local.size) return false;
  // Within a millisecond: a time set through utimes() comes back a few ns off (a double of seconds underneath).
  return Math.abs(other.mtime - local.mtimeMs) < 1;
}

async function hashLocalFile(path: string, algorithm: "blake3" | "sha256"): Promise<string> {
  const file = await open(path, "r");
  try {
    const [{ createContentHash }, { hashFileRange }] = await Promise.all([import("./hash.js"), import("./hashing-io.js")]);
    const hash = createContentHash(algorithm);
    await hashFileRange(file, 0, (await file.stat()).size, hash);
    return hash.digest();
  } finally {
    await file.close();
  }
}

/** A fresh tally. */
export function newTally(): TreeTally {
  return { files: 0, sent: 0, skipped: 0, notSent: 0 };
}
