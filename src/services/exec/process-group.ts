/**
 * Killing a command with everything it started. Each command leads a process group of its own (it is spawned
 * detached), so one signal to `-pgid` reaches its children and their children too, unless one of them left the
 * group on purpose (setsid), which no plain command does.
 */

/** How long a command gets to exit after SIGTERM before the whole group gets SIGKILL. */
export const KILL_GRACE_MS = 1_000;

const live = new Set<number>();
let hooked = false;

/**
 * Remembers a live process group so that it is killed even if this process exits without cleaning up: the kernel
 * does not kill detached children when their parent dies. A clean stop does not rely on this (the exec service's
 * close() kills and awaits every command); it is the last resort for a process that exits without closing.
 */
export function trackGroup(pgid: number): void {
  live.add(pgid);
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const group of live) signalGroup(group, "SIGKILL");
    });
  }
}

/** Forgets a group once nothing of it can be left (its leader exited and it was killed). */
export function untrackGroup(pgid: number): void {
  live.delete(pgid);
}

/** Sends a signal to every process of a group; an empty group is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is empty already
  }
}
