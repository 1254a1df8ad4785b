/**
 * A short busy-poll after IPC traffic, as KVM's halt-polling and Linux's `busy_poll` do: for a window after a
 * frame crosses a broker connection (sent or read), the event loop keeps polling (libuv waits in `epoll` with a
 * zero timeout while an immediate is queued) instead of sleeping. A reply that comes within the window is read
 * without a wake-up; on a virtual machine, waking a process that sleeps on an idle vCPU was the largest single
 * cost of a Pipe round trip (a bare node:net ping-pong over a Unix socket: 75 us a round trip sleeping, 26 us
 * polling for 50 us, and less CPU per round trip, 35 -> 20 us, because the wake-up costs more than the polling;
 * see docs/architecture.md, "Across processes").
 *
 * Polling only pays while the process has a core to itself. So a poll that has run for a while compares the CPU
 * the process got with the time that passed; below {@link FAIR_SHARE} of a core, other processes are waiting for
 * the CPU this one spins on, and polling stops for a back-off period (10 ms, doubling to 1 s while it keeps
 * happening). Three processes on two cores (two children contending for a Lock through the parent's broker)
 * were slower polling than sleeping until this check.
 *
 * The window restarts with every frame and ends `WHARF_IPC_POLL_US` microseconds (default 100) after the last
 * one; `WHARF_IPC_POLL_US=0` turns polling off. The immediates are ref'd (an unref'd one does not keep the loop
 * from sleeping), so a process may outlive its last frame by up to the window.
 */

const DEFAULT_WINDOW_US = 100;
/** How often, in ms, a poll that keeps going checks the CPU share it gets. */
const CHECK_MS = 2;
/** Below this share of a core while polling, the process is taking CPU that others wait for. */
const FAIR_SHARE = 0.75;
const MIN_BACKOFF_MS = 10;
const MAX_BACKOFF_MS = 1000;

function windowFromEnv(): number {
  const raw = process.env.WHARF_IPC_POLL_US;
  if (raw === undefined || raw === "") return DEFAULT_WINDOW_US / 1000;
  const us = Number(raw);
  return Number.isFinite(us) && us > 0 ? Math.min(us, 10_000) / 1000 : 0;
}

/** The window in milliseconds; 0 when polling is off. */
const windowMs = windowFromEnv();
/** Frames seen since the process started; the poll compares it with the count it last saw. */
let frames = 0;
let seen = 0;
let deadline = 0;
let polling = false;
/** When the current check period began, on the wall clock and in CPU time (ms). */
let checkWall = 0;
let checkCpu = 0;
let backoffMs = 0;
let backoffUntil = 0;

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function poll(): void {
  const now = performance.now();
  if (frames !== seen) {
    seen = frames;
    deadline = now + windowMs;
  }
  if (now >= deadline) {
    polling = false;
    return;
  }
  if (now - checkWall >= CHECK_MS) {
    const cpu = cpuMs();
    if (cpu - checkCpu < FAIR_SHARE * (now - checkWall)) {
      backoffMs = Math.min(Math.max(backoffMs * 2, MIN_BACKOFF_MS), MAX_BACKOFF_MS);
      backoffUntil = now + backoffMs;
      polling = false;
      return;
    }
    backoffMs /= 2;
    checkWall = now;
    checkCpu = cpu;
  }
  setImmediate(poll);
}

/** Notes that a frame crossed a broker connection of this process: the loop polls for the window from now. */
export function pollAfterFrame(): void {
  if (windowMs === 0) return;
  frames++;
  if (polling) return;
  const now = performance.now();
  if (now < backoffUntil) return;
  polling = true;
  checkWall = now;
  checkCpu = cpuMs();
  setImmediate(poll);
}
