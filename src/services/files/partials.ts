import { constants } from "node:fs";
import { open, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { writeAtomically } from "../shared/atomic-write.js";
import type { FileLayout, PartialPaths } from "./layout.js";
import { fileNameLocks, type NameLocks } from "./lock-file.js";
import { forgetUsage } from "./usage-cache.js";

/** What a partial upload's bytes belong to: the resume key is path + fileSize + stamp. */
export interface PartialInfo {
  path: string;
  fileSize: number;
  stamp: string;
  /** When the upload first began (ms since the epoch). */
  created: number;
}

/** Reads a partial's description, or null when there is none (or it is unreadable). */
export async function readPartialInfo(paths: PartialPaths): Promise<PartialInfo | null> {
  try {
    const info = JSON.parse(await readFile(paths.info, "utf8")) as PartialInfo;
    return typeof info.path === "string" && typeof info.fileSize === "number" && typeof info.stamp === "string" ? info : null;
  } catch {
    return null;
  }
}

/**
 * Makes the partial ready for an upload (the caller holds its lock) and resolves how many bytes of it can be kept:
 * all of them when the earlier attempt had the same path, size and stamp, else none (the partial starts empty).
 */
export async function preparePartial(paths: PartialPaths, wanted: Omit<PartialInfo, "created">): Promise<number> {
  const info = await readPartialInfo(paths);
  if (info !== null && info.path === wanted.path && info.fileSize === wanted.fileSize && info.stamp === wanted.stamp && wanted.stamp !== "") {
    try {
      const have = (await stat(paths.data)).size;
      if (have <= wanted.fileSize) return have;
    } catch {
      // the bytes are gone: start over below
    }
  }
  // The description goes first: a crash between the two leaves an empty partial that a resume will start over.
  const file = await open(paths.data, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  await file.close();
  await writeAtomically(paths.info, `${JSON.stringify({ ...wanted, created: Date.now() } satisfies PartialInfo)}\n`);
  return 0;
}

/** Removes a partial's bytes and description (not its lock). */
export async function removePartial(paths: PartialPaths): Promise<void> {
  await rm(paths.info, { force: true });
  await rm(paths.data, { force: true });
  forgetUsage();
}

/**
 * Deletes partial uploads of every home that nobody has written to for `ttl` ms and that no live upload holds.
 * Resolves how many were removed.
 */
export async function sweepPartials(layout: FileLayout, ttl: number, logger: Logger, locks: NameLocks = fileNameLocks): Promise<number> {
  let removed = 0;
  const now = Date.now();
  for (const user of await readdir(layout.homesDir).catch(() => [] as string[])) {
    const dir = layout.partialsDir(join(layout.homesDir, user));
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const match = /^([0-9a-f]{40})\.(part|json|lock)$/.exec(name);
      if (match === null || (match[2] !== "part" && match[2] !== "json")) continue;
      const base = join(dir, match[1]);
      const paths: PartialPaths = { data: `${base}.part`, info: `${base}.json`, lock: `${base}.lock` };
      const touched = await newestMtime([paths.data, paths.info]);
      if (touched === null || now - touched < ttl) continue;
      if (!(await locks.isFree(paths.lock, ttl))) continue;
      const lock = await locks.acquire(paths.lock, ttl).catch(() => null);
      if (lock === null) continue;
      try {
        if ((await newestMtime([paths.data, paths.info])) !== touched) continue; // an upload came back meanwhile
        await removePartial(paths);
        removed += 1;
        logger.info({ user, partial: match[1] }, "removed an expired partial upload");
      } finally {
        await lock.release();
      }
    }
  }
  return removed;
}

async function newestMtime(paths: string[]): Promise<number | null> {
  let newest: number | null = null;
  for (const path of paths) {
    try {
      const time = (await stat(path)).mtimeMs;
      newest = newest === null ? time : Math.max(newest, time);
    } catch {
      // missing
    }
  }
  return newest;
}
