import { lstatSync, readdirSync, type Dirent } from "node:fs";
import { join, posix } from "node:path";

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

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Everything below `dir` (not `dir` itself), each folder's entries in name order, a folder before what is in it;
 * symlinks are not followed. Each entry is named by its local path and by `remote` joined with its path below
 * `dir`. An entry removed while the walk runs is left out.
 *
 * The walk makes one readdir per folder (its entries' types come with the names) and one lstat per file, with the
 * synchronous calls: measured on a 10,000-file tree on one core, 180 ms against 380 ms for lstat promises in
 * parallel batches of 64 to 256, and 410-460 ms awaited one by one (each promise is a trip through libuv's thread
 * pool). The CLI has nothing else to serve meanwhile, and the walk yields to the event loop after each folder so
 * that replies arriving on the connection (the server's listing, running at the same time) are taken in.
 *
 * @example
 * ```ts
 * for (const entry of await walkLocalTree("photos", "backup/photos")) console.log(entry.remote, entry.size);
 * ```
 */
export async function walkLocalTree(dir: string, remote: string): Promise<LocalTreeEntry[]> {
  const entries: LocalTreeEntry[] = [];
  const visit = async (folder: string, remoteFolder: string): Promise<void> => {
    let dirents: Dirent[];
    try {
      dirents = readdirSync(folder, { withFileTypes: true }).sort(byName);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // removed meanwhile
      throw err;
    }
    // What join() puts before a name in this folder, found once: readdir's names hold no separator and are never
    // . or .., so the prefix and the name joined as strings give what join() gives, without normalizing every path
    // again (issue 15: ~15 ms of the 10,000-entry walk's CPU went to join and normalize).
    const localPrefix = join(folder, "x").slice(0, -1);
    const remotePrefix = joinRemote(remoteFolder, "x").slice(0, -1);
    for (const dirent of dirents) {
      const path = localPrefix + dirent.name;
      const to = remotePrefix + dirent.name;
      // A directory's dirent says so; anything else (or a file system that leaves the type unknown) is lstat'ed.
      if (dirent.isDirectory()) {
        entries.push({ path, remote: to, kind: "dir", size: 0, mtimeMs: 0 });
        await new Promise<void>((resolve) => setImmediate(resolve));
        await visit(path, to);
        continue;
      }
      const info = lstatSync(path, { throwIfNoEntry: false });
      if (info === undefined) continue;
      if (info.isDirectory()) {
        entries.push({ path, remote: to, kind: "dir", size: 0, mtimeMs: 0 });
        await visit(path, to);
      } else entries.push({ path, remote: to, kind: info.isFile() ? "file" : "other", size: info.size, mtimeMs: info.mtimeMs });
    }
  };
  await visit(dir, remote);
  return entries;
}
