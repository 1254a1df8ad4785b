/**
 * Which process of a `wharf serve --workers N` holds each connection: the server side of a loopback TCP
 * connection is found in /proc/net/tcp (by its ports) and its socket inode among the fds of the workers.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The pids of a process's children (the cluster workers of a primary). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match !== null) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * For each client port (the local port of a client's connection to `serverPort`), the pid of the worker that
 * serves it, or null when none of `pids` holds it.
 */
export function workerOfConnections(pids: number[], serverPort: number, clientPorts: number[]): (number | null)[] {
  const byPid = pids.map((pid) => [pid, socketInodes(pid)] as const);
  const inodeOf = new Map<number, string>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const local = Number.parseInt(cols[1].split(":")[1], 16);
    const remote = Number.parseInt(cols[2].split(":")[1], 16);
    if (local === serverPort) inodeOf.set(remote, cols[9]);
  }
  return clientPorts.map((port) => {
    const inode = inodeOf.get(port);
    if (inode === undefined) return null;
    return byPid.find(([, inodes]) => inodes.has(inode))?.[0] ?? null;
  });
}
