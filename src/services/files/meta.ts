import { constants, mkdirSync, unlinkSync, writeFileSync, type BigIntStats } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { createContentHash, isHashAlgorithm, type HashAlgorithm } from "./hash.js";
import { hashFileRange } from "./hashing-io.js";

let sequence = 0;

/** What the service remembers of a stored file. Valid while the file's inode, size and mtime are unchanged. */
export interface FileMeta {
  ino: string;
  size: number;
  mtimeNs: string;
  /** The algorithm the file was stored with (its upload's): the one a get is verified with by default. */
  algorithm: HashAlgorithm;
  /** Hex digests by algorithm: the stored one, and any other computed on request since. */
  hashes: Partial<Record<HashAlgorithm, string>>;
}

/**
 * The content hashes of stored files, kept as one small JSON file per inode in `<home>/.wharf/meta/`. Keyed by
 * inode, so `mv` of a file or of a whole directory keeps every file's record without touching it; a record whose
 * size or mtime no longer matches (the file was changed outside wharf) is ignored and recomputed. Records written
 * before issue 15 (`{sha256}`) read as a file stored with sha256.
 *
 * @example
 * ```ts
 * const meta = new MetaStore(layout.metaDir(realHome));
 * const { algorithm, hex } = await meta.hashOf(file, info, "blake3"); // the record's, or hashed and recorded
 * ```
 */
export class MetaStore {
  readonly dir: string;
  /** The algorithm for files that have no record (placed by other means): `wharf serve --hash`. */
  readonly defaultAlgorithm: HashAlgorithm;

  constructor(dir: string, defaultAlgorithm: HashAlgorithm = "sha256") {
    this.dir = dir;
    this.defaultAlgorithm = defaultAlgorithm;
  }

  /** The record of a file, if there is a valid one. */
  async read(info: BigIntStats): Promise<FileMeta | null> {
    let parsed: Partial<FileMeta> & { sha256?: unknown };
    try {
      parsed = JSON.parse(await readFile(this.#pathOf(info.ino), "utf8")) as typeof parsed;
    } catch {
      return null;
    }
    const valid = parsed.ino === String(info.ino) && parsed.size === Number(info.size) && parsed.mtimeNs === String(info.mtimeNs);
    if (!valid) return null;
    if (typeof parsed.sha256 === "string") return { ino: parsed.ino!, size: parsed.size!, mtimeNs: parsed.mtimeNs!, algorithm: "sha256", hashes: { sha256: parsed.sha256 } };
    if (!isHashAlgorithm(parsed.algorithm) || typeof parsed.hashes?.[parsed.algorithm] !== "string") return null;
    return parsed as FileMeta;
  }

  /**
   * Records a file's hash; `also` keeps other algorithms' digests of the same content. Readers see the old record
   * or the new one (a temporary file renamed over it), but the record is not fsynced, nor its folder: a record
   * is a cache of what the file's bytes hash to, checked against the file's inode, size and mtime on every read,
   * so one lost or torn by a crash is ignored and the hash computed again from the file. Written with
   * writeAtomically (mkdir, open, write, fsync, close, rename, and open, fsync, close of the folder) it took 10
   * trips to libuv's thread pool per upload; now 4 (open, write, close, rename). See the first `put -r` of a tree
   * of small files in docs/architecture.md (issue 15).
   */
  async write(info: BigIntStats, algorithm: HashAlgorithm, hex: string, also: FileMeta["hashes"] = {}): Promise<FileMeta> {
    const meta: FileMeta = { ino: String(info.ino), size: Number(info.size), mtimeNs: String(info.mtimeNs), algorithm, hashes: { ...also, [algorithm]: hex } };
    const path = this.#pathOf(info.ino);
    // pid + a counter: two writes of one record at once must not share a temporary file.
    const temp = `${path}.${process.pid}.${(sequence += 1)}.tmp`;
    const content = `${JSON.stringify(meta)}\n`;
    try {
      await writeFile(temp, content, { mode: 0o600 }).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
        await mkdir(this.dir, { recursive: true, mode: 0o700 }); // the folder was removed behind the server's back
        await writeFile(temp, content, { mode: 0o600 });
      });
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return meta;
  }

  /**
   * {@link write} with synchronous calls (open, write, close: microseconds each on a local disk), for the record
   * of a file that is not under its name yet (the one-request put, put-file-handler.ts): no reader can be
   * looking for its inode's record, so it is written in place, without a temporary file and a rename. Four trips
   * through libuv's thread pool cost more than the calls themselves (issue 15).
   */
  writeSync(info: BigIntStats, algorithm: HashAlgorithm, hex: string, also: FileMeta["hashes"] = {}): FileMeta {
    const meta: FileMeta = { ino: String(info.ino), size: Number(info.size), mtimeNs: String(info.mtimeNs), algorithm, hashes: { ...also, [algorithm]: hex } };
    const path = this.#pathOf(info.ino);
    const content = `${JSON.stringify(meta)}\n`;
    try {
      writeFileSync(path, content, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 }); // the folder was removed behind the server's back
      writeFileSync(path, content, { mode: 0o600 });
    }
    return meta;
  }

  /** {@link remove} at once: one unlink. */
  removeSync(ino: bigint | number | string): void {
    try {
      unlinkSync(this.#pathOf(ino));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }

  /** Forgets the record of an inode (the file was removed or replaced). */
  async remove(ino: bigint | number | string): Promise<void> {
    await rm(this.#pathOf(ino), { force: true });
  }

  /**
   * The hash of an open file with these stats, with `algorithm` (default: the one it was stored with, or the
   * store's default for a file without a record): the record's, or hashed from disk and added to the record.
   */
  async hashOf(file: FileHandle, info: BigIntStats, algorithm?: HashAlgorithm, signal?: AbortSignal): Promise<{ algorithm: HashAlgorithm; hex: string }> {
    const known = await this.read(info);
    const wanted = algorithm ?? known?.algorithm ?? this.defaultAlgorithm;
    const recorded = known?.hashes[wanted];
    if (recorded !== undefined) return { algorithm: wanted, hex: recorded };
    const hash = createContentHash(wanted);
    await hashFileRange(file, 0, Number(info.size), hash, signal);
    const hex = hash.digest();
    // A file without a record is stored with what was computed; one with a record keeps its algorithm.
    if (known === null) await this.write(info, hash.algorithm, hex);
    else await this.write(info, known.algorithm, known.hashes[known.algorithm]!, { ...known.hashes, [hash.algorithm]: hex });
    return { algorithm: hash.algorithm, hex };
  }

  /** The hash of the file at an absolute path (opened without following a symlink); see {@link hashOf}. */
  async hashOfPath(abs: string, algorithm?: HashAlgorithm, signal?: AbortSignal): Promise<{ algorithm: HashAlgorithm; hex: string }> {
    const file = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await this.hashOf(file, await file.stat({ bigint: true }), algorithm, signal);
    } finally {
      await file.close();
    }
  }

  #pathOf(ino: bigint | number | string): string {
    return join(this.dir, `${String(ino)}.json`);
  }
}
