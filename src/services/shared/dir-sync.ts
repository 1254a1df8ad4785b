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

/** A folder's shared flush: the one running, and the one that will run after it for the callers since. */
interface SharedSync {
  running: Promise<void> | null;
  queued: Promise<void> | null;
}

const shared = new Map<string, SharedSync>();

function startSync(dir: string, state: SharedSync): Promise<void> {
  const run = syncDir(dir);
  state.running = run;
  const done = (): void => {
    if (state.running === run) state.running = null;
    if (state.running === null && state.queued === null && shared.get(dir) === state) shared.delete(dir);
  };
  void run.then(done, done);
  return run;
}

/**
 * {@link syncDir} shared by every caller that asks while it waits (group commit): resolves once a flush of `dir`
 * that began after this call has finished, so whatever the caller renamed into `dir` before calling is on disk.
 * Callers that come while a flush runs share the one queued behind it. A `put -r` of many small files into one
 * folder thus costs about two folder flushes at a time instead of one per file (issue 15).
 *
 * @example
 * ```ts
 * renameSync(temp, target);
 * await syncDirShared(dirname(target));
 * ```
 */
export function syncDirShared(dir: string): Promise<void> {
  let state = shared.get(dir);
  if (state === undefined) {
    state = { running: null, queued: null };
    shared.set(dir, state);
  }
  if (state.running === null && state.queued === null) return startSync(dir, state);
  const current = state;
  current.queued ??= (current.running ?? Promise.resolve())
    .catch(() => {})
    .then(() => {
      current.queued = null;
      return startSync(dir, current);
    });
  return current.queued;
}
