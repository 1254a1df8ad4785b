import { lstatSync, realpathSync, statSync, type Stats } from "node:fs";
import { lstat, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { WharfError, quote } from "../../wire/index.js";
import { FileErrorCode, fsFailure } from "./errors.js";

/** The name inside each home where the service keeps its own state (partial uploads, metadata). Reserved. */
export const RESERVED_NAME = ".wharf";

function pathError(path: string, why: string): WharfError {
  return new WharfError(FileErrorCode.PATH, `${quote(path)}: ${why}`);
}

/**
 * Normalises a remote path to a `/`-separated path relative to the home ("" is the home itself): `.` and empty
 * components go, `..` goes up. Throws `E_PATH` for absolute paths, NUL bytes, a `..` that would leave the home,
 * and the reserved name `.wharf`.
 *
 * @example
 * ```ts
 * normalizeRemotePath("docs/./a/../b.txt"); // "docs/b.txt"
 * normalizeRemotePath("../etc/passwd");     // throws E_PATH
 * ```
 */
export function normalizeRemotePath(path: string): string {
  if (typeof path !== "string") throw new WharfError(FileErrorCode.INVALID_PARAMS, "a path must be a string");
  if (path.includes("\0")) throw pathError(path, "NUL bytes are not allowed in paths");
  if (path.startsWith("/")) throw pathError(path, "absolute paths are not allowed: paths are relative to your home");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw pathError(path, "leaves your home");
      parts.pop();
      continue;
    }
    if (part === RESERVED_NAME) throw pathError(path, `${RESERVED_NAME} is a reserved name`);
    if (Buffer.byteLength(part) > 255) throw pathError(path, "a name is longer than 255 bytes");
    parts.push(part);
  }
  return parts.join("/");
}

/** Where a remote path lands on the server's disk. */
export interface ResolvedPath {
  /** The normalised remote path. */
  rel: string;
  /** Absolute path inside the real home; existing components are free of symlinks (except a final link kept). */
  abs: string;
  /** What is there (after following a final symlink unless `followFinal` is false), or null when nothing is. */
  stat: Stats | null;
  /** True when the final component is a symlink that was not followed. */
  isLink: boolean;
  /** True when the parent directory exists. */
  parentExists: boolean;
}

/** True when `path` is `home` or inside it, and not inside the home's reserved folder. */
export function isInsideHome(realHome: string, path: string): boolean {
  if (path !== realHome && !path.startsWith(realHome + sep)) return false;
  const reserved = join(realHome, RESERVED_NAME);
  return path !== reserved && !path.startsWith(reserved + sep);
}

/**
 * Resolves a normalised remote path inside a home whose real path (no symlinks) is `realHome`, one component at
 * a time with lstat: a symlink is followed only when it points inside the home (checked with realpath), else
 * the request fails with `E_PATH`, so nothing outside the home is ever read or written. With `followFinal`
 * false a final symlink is kept as itself (to remove or move the link), but still refused when it points out.
 *
 * @example
 * ```ts
 * const { abs, stat } = await resolveInHome(realHome, normalizeRemotePath("docs/a.txt"), { followFinal: true });
 * ```
 */
export async function resolveInHome(realHome: string, rel: string, options: { followFinal: boolean }): Promise<ResolvedPath> {
  const parts = rel === "" ? [] : rel.split("/");
  let current = realHome;
  let currentStat: Stats = await stat(realHome);
  for (let i = 0; i < parts.length; i += 1) {
    const last = i === parts.length - 1;
    const next = join(current, parts[i]);
    let info: Stats;
    try {
      info = await lstat(next);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        return { rel, abs: join(next, ...parts.slice(i + 1)), stat: null, isLink: false, parentExists: last };
      }
      throw fsFailure(err, rel);
    }
    if (info.isSymbolicLink()) {
      const target = await linkTarget(realHome, next, rel);
      if (last && !options.followFinal) return { rel, abs: next, stat: info, isLink: true, parentExists: true };
      current = target;
      info = await stat(target);
    } else {
      current = next;
    }
    if (!last && !info.isDirectory()) throw new WharfError(FileErrorCode.NOT_DIR, `${rel}: ${parts.slice(0, i + 1).join("/")} is not a directory`);
    currentStat = info;
  }
  return { rel, abs: current, stat: currentStat, isLink: false, parentExists: true };
}

async function linkTarget(realHome: string, link: string, rel: string): Promise<string> {
  let target: string;
  try {
    target = await realpath(link);
  } catch {
    throw pathError(rel, "a symlink on the way points nowhere or outside your home");
  }
  if (!isInsideHome(realHome, target)) throw pathError(rel, "a symlink on the way points outside your home");
  return target;
}

/**
 * {@link resolveInHome} with synchronous calls (a stat of the home and an lstat per component, microseconds each
 * on a local disk): for the one-request put of a small file, where a trip through libuv's thread pool per
 * component cost more than the put's own work (issue 15). Same answers and errors.
 */
export function resolveInHomeSync(realHome: string, rel: string, options: { followFinal: boolean }): ResolvedPath {
  const parts = rel === "" ? [] : rel.split("/");
  let current = realHome;
  let currentStat: Stats = statSync(realHome);
  for (let i = 0; i < parts.length; i += 1) {
    const last = i === parts.length - 1;
    const next = join(current, parts[i]);
    const found = lstatSync(next, { throwIfNoEntry: false });
    if (found === undefined) return { rel, abs: join(next, ...parts.slice(i + 1)), stat: null, isLink: false, parentExists: last };
    let info: Stats = found;
    if (info.isSymbolicLink()) {
      let target: string;
      try {
        target = realpathSync(next);
      } catch {
        throw pathError(rel, "a symlink on the way points nowhere or outside your home");
      }
      if (!isInsideHome(realHome, target)) throw pathError(rel, "a symlink on the way points outside your home");
      if (last && !options.followFinal) return { rel, abs: next, stat: info, isLink: true, parentExists: true };
      current = target;
      info = statSync(target);
    } else {
      current = next;
    }
    if (!last && !info.isDirectory()) throw new WharfError(FileErrorCode.NOT_DIR, `${rel}: ${parts.slice(0, i + 1).join("/")} is not a directory`);
    currentStat = info;
  }
  return { rel, abs: current, stat: currentStat, isLink: false, parentExists: true };
}
