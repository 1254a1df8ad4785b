import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { syncDir } from "./dir-sync.js";

let sequence = 0;

/**
 * Writes a file so that readers see the old or the new content, never a mix, and a crash leaves one of the two:
 * temp file beside it, fsync, rename over, fsync the folder. The file is created with mode 0600.
 *
 * @example
 * ```ts
 * await writeAtomically(join(dataDir, "users.json"), JSON.stringify(users));
 * ```
 */
export async function writeAtomically(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // pid + a counter: two writes of one path in the same millisecond must not share a temp file.
  sequence += 1;
  const temp = `${path}.${process.pid}.${sequence}.tmp`;
  const file = await open(temp, "w", 0o600);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}
