import { readdirSync } from "node:fs";
import { join, posix } from "node:path";
import { briefLstat } from "../services/files/brief-lstat.js";

/** One entry of a local tree as `put -r` and `get -r` compare it with the server's listing. */
export interface LocalTreeEntry {
  /** The local path. */
  path: string;
  /** The path it has (or would have) on the server: `remote` joined with the path below the walked folder. */
  remote: string;
  /** `other`: a symlink, socket, device...: a tree transfer skips it (and says so). */
  kind: "file" | "dir" | "other";
  /** Bytes (0 unless a file). */
  size: number;
  /** Modification time, ms since the epoch (0 unless a file). */
  mtimeMs: number;
}

/** A remote folder joined with a name, as the server spells paths: no leading `./`, `/`-separated. */
export function joinRemote(dir: string, name: string): string {
  return dir === "" || dir === "." ? name : posix.join(dir, name);
}

/**
 * Everything below `dir` (not `dir` itself), each folder's entries in name order, a folder before what is in it;
 * symlinks are not followed. Each entry is named by its local path and by `remote` joined with its path below
 * `dir`. An entry removed while the walk runs is left out. Rejects with `signal`'s reason once it is aborted
 * (checked at each folder).
 *
 * The walk makes one readdir per folder and one lstat per entry ({@link briefLstat}: no `Stats` object on Node
 * 20), with the synchronous calls: measured on a 10,000-file tree on one core, 180 ms against 380 ms for lstat
 * promises in parallel batches of 64 to 256, and 410-460 ms awaited one by one (each promise is a trip through
 * libuv's thread pool). The CLI has nothing else to serve meanwhile, and the walk yields to the event loop after
 * each folder so that replies arriving on the connection (the server's listing, running at the same time) are
 * taken in.
 *
 * @example
 * ```ts
 * for (const entry of await walkLocalTree("photos", "backup/photos")) console.log(entry.remote, entry.size);
 * ```
 */
export async function walkLocalTree(dir: string, remote: string, signal?: AbortSignal): Promise<LocalTreeEntry[]> {
  const entries: LocalTreeEntry[] = [];
  const visit = async (folder: string, remoteFolder: string): Promise<void> => {
    signal?.throwIfAborted();
    let names: string[];
    try {
      // Names alone, sorted by UTF-16 code units (the server's order): a Dirent per name cost more than the one
      // lstat per folder it saved (the walk of 10,000 files went from 110-127 to 87-106 ms with briefLstat).
      names = readdirSync(folder).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // removed meanwhile
      throw err;
    }
    // What join() puts before a name in this folder, found once: readdir's names hold no separator and are never
    // . or .., so the prefix and the name joined as strings give what join() gives, without normalizing every path
    // again (issue 15: ~15 ms of the 10,000-entry walk's CPU went to join and normalize).
    const localPrefix = join(folder, "x").slice(0, -1);
    const remotePrefix = joinRemote(remoteFolder, "x").slice(0, -1);
    for (const name of names) {
      const path = localPrefix + name;
      const info = briefLstat(path);
      if (info === undefined) continue; // removed meanwhile
      const to = remotePrefix + name;
      if (info.kind !== "dir") entries.push({ path, remote: to, kind: info.kind === "file" ? "file" : "other", size: info.size, mtimeMs: info.mtimeMs });
      else {
        entries.push({ path, remote: to, kind: "dir", size: 0, mtimeMs: 0 });
        await new Promise<void>((resolve) => setImmediate(resolve));
        await visit(path, to);
      }
    }
  };
  await visit(dir, remote);
  return entries;
}
