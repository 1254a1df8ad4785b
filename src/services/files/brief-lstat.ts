import { lstatSync, type Stats } from "node:fs";

/** What a tree walk needs of an entry: its kind, size and modification time. */
export interface BriefStat {
  /** `symlink` is the link itself (never followed); `other` a socket, device or fifo. */
  kind: "file" | "dir" | "symlink" | "other";
  /** `st_size`: a file's bytes (for a folder or a link, what the file system says of it). */
  size: number;
  /** Modification time, ms since the epoch with the sub-millisecond part, as `Stats.mtimeMs`. */
  mtimeMs: number;
}

/** The binding's synchronous lstat: the shared array of an entry's numbers, or undefined when it does not exist. */
type RawLstat = (path: string, bigint: false, request: undefined, throwIfNoEntry: boolean) => Float64Array | undefined;

// Where the binding puts the numbers (lib/internal/fs/utils.js in Node 20: dev, mode, nlink, uid, gid, rdev,
// blksize, ino, size, blocks, then seconds and nanoseconds of atime, mtime, ctime, birthtime).
const MODE = 1;
const SIZE = 8;
const MTIME_S = 12;
const MTIME_NS = 13;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function kindOf(mode: number): BriefStat["kind"] {
  const type = mode & S_IFMT;
  return type === S_IFREG ? "file" : type === S_IFDIR ? "dir" : type === S_IFLNK ? "symlink" : "other";
}

/** The brief form of a `Stats` (what a followed link's `stat` gave, say). */
export function briefOf(info: Stats): BriefStat {
  return { kind: kindOf(info.mode), size: info.size, mtimeMs: info.mtimeMs };
}

/**
 * Node 20's `lstatSync` builds a `Stats` with four `Date`s for every call: on a 10,000-file walk on one core, 73 ms
 * of lstat calls against 30 ms for the same calls through the binding under it, plus the garbage collection of
 * those objects (issue 15, the second `put -r` of an unchanged tree, whose client walks its tree while the server
 * lists its own). Node 22 makes the dates lazy, and `process.binding` is deprecated, so the binding is used only
 * where it pays and is quiet: Node 20 or 21 on a POSIX system, no pending-deprecation warnings asked for, and only
 * if it agrees with `lstatSync` on a probe. Anywhere else (or if the probe fails) this is null and
 * {@link briefLstat} calls `lstatSync`.
 */
function findRawLstat(): RawLstat | null {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 20 || major > 21 || process.platform === "win32") return null;
  const pending = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((arg) => arg.includes("--pending-deprecation")) || process.env.NODE_PENDING_DEPRECATION === "1";
  if (pending) return null;
  try {
    const binding = (process as unknown as { binding(name: string): { lstat?: unknown } }).binding("fs");
    if (typeof binding.lstat !== "function") return null;
    const raw = binding.lstat.bind(binding) as RawLstat;
    for (const probe of [process.execPath, "/"]) {
      const values = raw(probe, false, undefined, false);
      const known = lstatSync(probe);
      if (values === undefined || values[MODE] !== known.mode || values[SIZE] !== known.size || mtimeOf(values) !== known.mtimeMs) return null;
    }
    if (raw("/nonexistent-wharf-probe/x", false, undefined, false) !== undefined) return null;
    return raw;
  } catch {
    return null;
  }
}

function mtimeOf(values: Float64Array): number {
  return values[MTIME_S] * 1e3 + values[MTIME_NS] / 1e6;
}

let rawLstat: RawLstat | null | undefined;

/** True when {@link briefLstat} goes through the binding rather than `lstatSync` (tests check both agree). */
export function briefLstatIsRaw(): boolean {
  rawLstat ??= findRawLstat();
  return rawLstat !== null;
}

/**
 * The kind, size and mtime of `path` without following a final symlink; undefined if it does not exist. Other
 * errors (EACCES, ENOTDIR...) are thrown as `lstatSync` throws them, with their `code`.
 *
 * @example
 * ```ts
 * const entry = briefLstat("photos/cat.jpg");
 * if (entry?.kind === "file") console.log(entry.size, new Date(entry.mtimeMs));
 * ```
 */
export function briefLstat(path: string, raw = briefLstatIsRaw()): BriefStat | undefined {
  const into: BriefStat = { kind: "other", size: 0, mtimeMs: 0 };
  return briefLstatInto(path, into, raw) ? into : undefined;
}

/**
 * {@link briefLstat} into an object of the caller's, reused from call to call (a walk of 10,000 entries then makes
 * no object per entry for it): false, and `into` untouched, when `path` does not exist.
 *
 * @example
 * ```ts
 * const info: BriefStat = { kind: "other", size: 0, mtimeMs: 0 };
 * for (const name of ["a.txt", "b.txt"]) if (briefLstatInto(name, info) && info.kind === "file") console.log(name, info.size);
 * ```
 */
export function briefLstatInto(path: string, into: BriefStat, raw = briefLstatIsRaw()): boolean {
  if (raw && rawLstat) {
    const values = rawLstat(path, false, undefined, false);
    if (values === undefined) return false;
    into.kind = kindOf(values[MODE]);
    into.size = values[SIZE];
    into.mtimeMs = mtimeOf(values);
    return true;
  }
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (info === undefined) return false;
  into.kind = kindOf(info.mode);
  into.size = info.size;
  into.mtimeMs = info.mtimeMs;
  return true;
}
