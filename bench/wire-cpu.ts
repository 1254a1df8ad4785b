/**
 * CPU time of a server's process tree, read from Linux's /proc. On a machine shared with other work, requests/s
 * move with whatever else runs; the server's CPU time per request barely does, so the wire benchmark (issue 3)
 * prints both.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime/stime: 100 on every mainstream Linux (getconf CLK_TCK). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime, in ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses, so fields are counted from its last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/**
 * User + system CPU time, in microseconds, used so far by `pid` and its living descendants (cluster workers),
 * or NaN where /proc is not available.
 */
export function treeCpuMicros(pid: number): number {
  const own = readStat(pid);
  if (own === null) return Number.NaN;
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>([[pid, own.ticks]]);
  for (const entry of readdirSync("/proc")) {
    const child = Number(entry);
    if (!Number.isInteger(child) || child === pid) continue;
    const stat = readStat(child);
    if (stat === null) continue;
    ticks.set(child, stat.ticks);
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), child]);
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const next = stack.pop() as number;
    total += ticks.get(next) ?? 0;
    stack.push(...(children.get(next) ?? []));
  }
  return (total * 1_000_000) / TICKS_PER_SECOND;
}
