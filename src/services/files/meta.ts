import { createHash } from "node:crypto";
import { constants, type BigIntStats } from "node:fs";
import { open, readFile, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { writeAtomically } from "../shared/atomic-write.js";
import { hashFileRange } from "./hashing-io.js";

/** What the service remembers of a stored file. Valid while the file's inode, size and mtime are unchanged. */
export interface FileMeta {
  ino: string;
  size: number;
  mtimeNs: string;
  sha256: string;
}

/**
 * The sha256 of stored files, kept as one small JSON file per inode in `<home>/.wharf/meta/`. Keyed by inode, so
 * `mv` of a file or of a whole directory keeps every file's record without touching it; a record whose size or
 * mtime no longer matches (the file was changed outside wharf) is ignored and recomputed.
 *
 * @example
 * ```ts
 * const meta = new MetaStore(layout.metaDir(realHome));
 * const sha256 = await meta.sha256Of(abs); // from the record, or hashed and recorded
 * ```
 */
export class MetaStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The record of a file, if there is a valid one. */
  async read(info: BigIntStats): Promise<FileMeta | null> {
    let parsed: FileMeta;
    try {
      parsed = JSON.parse(await readFile(this.#pathOf(info.ino), "utf8")) as FileMeta;
    } catch {
      return null;
    }
    const valid = parsed.ino === String(info.ino) && parsed.size === Number(info.size) && parsed.mtimeNs === String(info.mtimeNs);
    return valid && typeof parsed.sha256 === "string" ? parsed : null;
  }

  /** Records a file's sha256 (flushed to disk). */
  async write(info: BigIntStats, sha256: string): Promise<FileMeta> {
    const meta: FileMeta = { ino: String(info.ino), size: Number(info.size), mtimeNs: String(info.mtimeNs), sha256 };
    await writeAtomically(this.#pathOf(info.ino), `${JSON.stringify(meta)}\n`);
    return meta;
  }

  /** Forgets the record of an inode (the file was removed or replaced). */
  async remove(ino: bigint | number | string): Promise<void> {
    await rm(this.#pathOf(ino), { force: true });
  }

  /** The sha256 of an open file with these stats: the record's, or hashed from disk and recorded. */
  async sha256Of(file: FileHandle, info: BigIntStats, signal?: AbortSignal): Promise<string> {
    const known = await this.read(info);
    if (known !== null) return known.sha256;
    const hash = createHash("sha256");
    await hashFileRange(file, 0, Number(info.size), hash, signal);
    const sha256 = hash.digest("hex");
    await this.write(info, sha256);
    return sha256;
  }

  /** The sha256 of the file at an absolute path (opened without following a symlink). */
  async sha256OfPath(abs: string, signal?: AbortSignal): Promise<string> {
    const file = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await this.sha256Of(file, await file.stat({ bigint: true }), signal);
    } finally {
      await file.close();
    }
  }

  #pathOf(ino: bigint | number | string): string {
    return join(this.dir, `${String(ino)}.json`);
  }
}
