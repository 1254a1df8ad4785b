import { createHash } from "node:crypto";
import { mkdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import { homeOf, homesDir } from "../shared/homes.js";
import { RESERVED_NAME } from "./remote-path.js";

/** The files of one partial upload: the bytes, its description, and its lock. */
export interface PartialPaths {
  /** The bytes received so far. */
  data: string;
  /** JSON: the path, size and stamp the bytes belong to. */
  info: string;
  /** Exists while an upload holds the name (see lock-file.ts). */
  lock: string;
}

/**
 * Where the files service keeps things in the data folder:
 *
 * ```
 * <data>/homes/<user>/                      the user's files; every remote path is relative to it
 * <data>/homes/<user>/.wharf/partials/K.*   partial uploads, K = sha256 of the remote path (.part, .json, .lock)
 * <data>/homes/<user>/.wharf/meta/INO.json  size, mtime and sha256 of a stored file, by inode
 * ```
 *
 * Everything of a user is on one file system under their home, so a finished upload is renamed into place.
 */
export class FileLayout {
  readonly dataDir: string;
  readonly homesDir: string;
  /**
   * Homes known to exist, with when that was checked: every files request needs its home, and checking it
   * (two mkdir and a realpath, three trips to libuv's thread pool) cost more than small requests themselves.
   * A home removed behind the server's back is made again within HOME_RECHECK_MS.
   */
  #homes = new Map<string, { realHome: string; checkedAt: number }>();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.homesDir = homesDir(dataDir);
  }

  /** The home of a user (not created). */
  homeOf(user: string): string {
    return homeOf(this.dataDir, user);
  }

  /** Creates the home and its service folders if needed; resolves the home's real path. */
  async ensureHome(user: string): Promise<string> {
    const known = this.#homes.get(user);
    const now = Date.now();
    if (known !== undefined && now - known.checkedAt < HOME_RECHECK_MS) return known.realHome;
    const home = this.homeOf(user);
    await mkdir(join(home, RESERVED_NAME, "partials"), { recursive: true, mode: 0o700 });
    await mkdir(join(home, RESERVED_NAME, "meta"), { recursive: true, mode: 0o700 });
    const realHome = await realpath(home);
    this.#homes.set(user, { realHome, checkedAt: now });
    return realHome;
  }

  /** The folder of a home's partial uploads. */
  partialsDir(realHome: string): string {
    return join(realHome, RESERVED_NAME, "partials");
  }

  /** The folder of a home's per-file metadata. */
  metaDir(realHome: string): string {
    return join(realHome, RESERVED_NAME, "meta");
  }

  /** The partial upload files of a normalised remote path. */
  partialPaths(realHome: string, rel: string): PartialPaths {
    const key = partialKey(rel);
    const dir = this.partialsDir(realHome);
    return { data: join(dir, `${key}.part`), info: join(dir, `${key}.json`), lock: join(dir, `${key}.lock`) };
  }
}

/** How long a home checked by ensureHome() is taken to exist without checking again. */
const HOME_RECHECK_MS = 5_000;

/** The name of a remote path's partial files: fixed length, no path characters. */
export function partialKey(rel: string): string {
  return createHash("sha256").update(rel).digest("hex").slice(0, 40);
}
