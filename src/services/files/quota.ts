import { statfsSync } from "node:fs";
import { lstat, opendir, readdir, readFile, statfs } from "node:fs/promises";
import { join } from "node:path";
import { WharfError } from "../../wire/index.js";
import { FileErrorCode } from "./errors.js";
import { RESERVED_NAME } from "./remote-path.js";

/** What not to count when working out whether an upload fits. */
export interface UsageExclusions {
  /** The file the upload will replace (its bytes go when the upload lands). */
  replacing?: string;
  /** The partial info file of the upload itself. */
  ownPartialInfo?: string;
}

/**
 * Bytes a home takes: every regular file (symlinks are not followed), plus every partial upload at its declared
 * full size, so that uploads running at once cannot together overrun the quota.
 */
export async function homeUsage(realHome: string, partialsDir: string, exclude: UsageExclusions = {}): Promise<number> {
  let total = 0;
  const walk = async (dir: string, top: boolean): Promise<void> => {
    let handle;
    try {
      handle = await opendir(dir);
    } catch {
      return; // removed meanwhile
    }
    for await (const entry of handle) {
      if (top && entry.name === RESERVED_NAME) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, false);
      else if (entry.isFile() && path !== exclude.replacing) {
        try {
          total += (await lstat(path)).size;
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  await walk(realHome, true);
  for (const name of await readdir(partialsDir).catch(() => [] as string[])) {
    if (!name.endsWith(".json")) continue;
    const path = join(partialsDir, name);
    if (path === exclude.ownPartialInfo) continue;
    try {
      const info = JSON.parse(await readFile(path, "utf8")) as { fileSize?: unknown };
      if (typeof info.fileSize === "number") total += info.fileSize;
    } catch {
      // being replaced, or removed meanwhile
    }
  }
  return total;
}

/** Throws `E_QUOTA` (before anything is stored) when `needed` more bytes would take the home over `quota`. */
export function checkQuota(quota: number | null, used: number, needed: number, path: string): void {
  if (quota === null || used + needed <= quota) return;
  throw new WharfError(FileErrorCode.QUOTA, `${path}: ${needed} bytes would exceed your quota (${used} of ${quota} bytes used)`, {
    data: { quota, used, needed },
  });
}

/** Throws `E_NO_SPACE` when the file system of `dir` has fewer than `needed` bytes free for unprivileged use. */
export async function checkFreeSpace(dir: string, needed: number, path: string): Promise<void> {
  assertSpace(await statfs(dir), needed, path);
}

/** {@link checkFreeSpace} with a synchronous statfs (the one-request put of a small file). */
export function checkFreeSpaceSync(dir: string, needed: number, path: string): void {
  assertSpace(statfsSync(dir), needed, path);
}

function assertSpace(fs: { bavail: number; bsize: number }, needed: number, path: string): void {
  const available = fs.bavail * fs.bsize;
  if (needed <= available) return;
  throw new WharfError(FileErrorCode.NO_SPACE, `${path}: ${needed} more bytes do not fit on the server's disk (${available} free)`, {
    data: { needed, available },
  });
}
