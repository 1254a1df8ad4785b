import { constants } from "node:fs";
import { open } from "node:fs/promises";

/**
 * Flushes a folder's entries to disk: after a rename or a create, the new name survives a power cut only once its
 * folder is synced too (POSIX makes no promise for the entry otherwise; ext4 and XFS need it).
 *
 * @example
 * ```ts
 * await rename(temp, target);
 * await syncDir(dirname(target));
 * ```
 */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
