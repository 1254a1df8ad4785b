import { readdirSync } from "node:fs";
import { join, posix } from "node:path";
import { briefLstatInto, type BriefStat } from "../services/files/brief-lstat.js";

/** One entry of a local tree as `put -r` and `get -r` compare it with the server's listing. */
export interface LocalTreeEntry {
  /** The local path. */
  readonly path: string;
  /** The path it has (or would have) on the server: `remote` joined with the path below the walked folder. */
  readonly remote: string;
  /** The last component of `path` (and of `remote`). */
  readonly name: string;
  /** `other`: a symlink, socket, device...: a tree transfer skips it (and says so). */
  readonly kind: "file" | "dir" | "other";
  /** Bytes (0 unless a file). */
  readonly size: number;
  /** Modification time, ms since the epoch (0 unless a file). */
  readonly mtimeMs: number;
}

/**
 * An entry whose paths are joined when asked for: a walk of 10,000 entries whose files are all on the server
 * already asks for none of them (put -r reads a path only to send or report the entry).
 */
class WalkedEntry implements LocalTreeEntry {
  readonly #folder: Folder;
  readonly name: string;
  readonly kind: "file" | "dir" | "other";
  readonly size: number;
  readonly mtimeMs: number;

  constructor(folder: Folder, name: string, kind: "file" | "dir" | "other", size: number, mtimeMs: number) {
    this.#folder = folder;
    this.name = name;
    this.kind = kind;
    this.size = size;
    this.mtimeMs = mtimeMs;
  }

  get path(): string {
    return this.#folder.localPrefix + this.name;
  }

  get remote(): string {
    return this.#folder.remotePrefix + this.name;
  }
}

/** A remote folder joined with a name, as the server spells paths: no leading `./`, `/`-separated. */
export function joinRemote(dir: string, name: string): string {
  return dir === "" || dir === "." ? name : posix.join(dir, name);
}

/**
 * Everything below `dir` (not `dir` itself), each folder's entries in name order, a folder before what is in it;
 * symlinks are not followed. Each entry is named by its local path and by `remote` joined with its path below
 * `dir`. An entry removed while the walk runs is left out. Rejects with `signal`'s reason once it is aborted
 * (checked at each folder). `onRun`, when given, is told of the entries as the walk goes: `entries[start, end)`
 * are directly inside `folder` (relative to `dir`, `/`-separated, `""` for `dir` itself); a folder's entries come
 * as one run, or as several when subfolders' runs come between (a folder's content follows the folder). The runs
 * cover the array in order.
 *
 * The walk makes one readdir per folder and one lstat per entry (briefLstatInto: no `Stats` object on Node
 * 20), with the synchronous calls: measured on a 10,000-file tree on one core, 180 ms against 380 ms for lstat
 * promises in parallel batches of 64 to 256, and 410-460 ms awaited one by one (each promise is a trip through
 * libuv's thread pool). The CLI has nothing else to serve meanwhile, and the walk yields to the event loop every
 * few hundred entries so that the connection moves meanwhile (its login, the comparison's requests and replies).
 *
 * @example
 * ```ts
 * for (const entry of await walkLocalTree("photos", "backup/photos")) console.log(entry.remote, entry.size);
 * ```
 */
export async function walkLocalTree(
  dir: string,
  remote: string,
  signal?: AbortSignal,
  onRun?: (folder: string, entries: LocalTreeEntry[], start: number, end: number) => void,
): Promise<LocalTreeEntry[]> {
  const entries: LocalTreeEntry[] = [];
  await new Promise<void>((resolve) => setImmediate(resolve)); // the caller's next steps (a connection's start) go first
  signal?.throwIfAborted();
  const stack = [openFolder(dir, remote, "")];
  let sinceTurn = 0;
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const before = entries.length;
    const sub = readRun(stack[stack.length - 1], entries, onRun);
    sinceTurn += entries.length - before;
    if (sub === null) stack.pop();
    else stack.push(sub);
    if (sinceTurn >= ENTRIES_PER_TURN) {
      sinceTurn = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return entries;
}

/**
 * Entries walked between two turns of the event loop (in which the connection's frames go in and out). Each turn
 * costs about 0.1 ms in a fresh process, so once per 100-entry folder was a tenth of a 10,000-file walk.
 */
const ENTRIES_PER_TURN = 512;

/** The one BriefStat every walk's lstat fills (walks run on one thread, and each reads it before the next call). */
const scratch: BriefStat = { kind: "other", size: 0, mtimeMs: 0 };

/** A folder being walked: its sorted names, and how far the walk got. */
interface Folder {
  localPrefix: string;
  remotePrefix: string;
  /** The folder relative to the walked one (`""` for it). */
  rel: string;
  names: string[];
  next: number;
}

function openFolder(folder: string, remoteFolder: string, rel: string): Folder {
  let names: string[];
  try {
    // Names alone, sorted by UTF-16 code units (the server's order): a Dirent per name cost more than the one
    // lstat per folder it saved (the walk of 10,000 files went from 110-127 to 87-106 ms with briefLstat).
    names = readdirSync(folder).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    names = []; // removed meanwhile
  }
  // What join() puts before a name in this folder, found once: readdir's names hold no separator and are never
  // . or .., so the prefix and the name joined as strings give what join() gives, without normalizing every path
  // again (issue 15: ~15 ms of the 10,000-entry walk's CPU went to join and normalize).
  return { localPrefix: join(folder, "x").slice(0, -1), remotePrefix: joinRemote(remoteFolder, "x").slice(0, -1), rel, names, next: 0 };
}

/**
 * Walks `folder`'s names from where it stopped up to and including the next subfolder (whose opened Folder it
 * returns, to be walked before the rest of this one) or to its end (null), reporting the run to `onRun`.
 * Synchronous and small on purpose: V8 optimizes a hot function on a background thread, which on a one-core client
 * takes the walk's own core; the walk's loop inside an async function took 68 ms to compile, this one 24-33 ms (and
 * a `put` defers optimizing further: process-tuning.ts, deferOptimization).
 */
function readRun(folder: Folder, entries: LocalTreeEntry[], onRun: ((folder: string, entries: LocalTreeEntry[], start: number, end: number) => void) | undefined): Folder | null {
  const start = entries.length;
  const names = folder.names;
  const info = scratch;
  while (folder.next < names.length) {
    const name = names[folder.next++];
    if (!briefLstatInto(folder.localPrefix + name, info)) continue; // removed meanwhile
    if (info.kind !== "dir") {
      entries.push(new WalkedEntry(folder, name, info.kind === "file" ? "file" : "other", info.size, info.mtimeMs));
      continue;
    }
    entries.push(new WalkedEntry(folder, name, "dir", 0, 0));
    onRun?.(folder.rel, entries, start, entries.length);
    return openFolder(folder.localPrefix + name, folder.remotePrefix + name, folder.rel === "" ? name : `${folder.rel}/${name}`);
  }
  if (start < entries.length) onRun?.(folder.rel, entries, start, entries.length);
  return null;
}
