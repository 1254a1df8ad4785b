/**
 * Forking wharf's runner, and the registry that makes daemon children die with their parent.
 */
import { fork, type ChildProcess } from "node:child_process";
import { channel } from "node:diagnostics_channel";

const runnerPath = new URL("./process-runner.js", import.meta.url);
const daemons = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Options shared by the process-based APIs. */
export interface ForkOptions {
  /** Node flags for the child (default none, so that e.g. test-runner flags of the parent do not leak in). */
  execArgv?: string[] | undefined;
  /** Environment of the child (default: the parent's). */
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * The diagnostics channel published with `{ pid }` when a child forked here exits, before anything that waits
 * for that exit (`join()`, a pool's death report) is told: whoever keeps state for the child's connections
 * (wharf/multiprocessing's broker) can forget it first, without the pool knowing who listens.
 */
export const CHILD_EXIT_CHANNEL = "wharf:pool:child-exit";
const childExitChannel = channel(CHILD_EXIT_CHANNEL);

/** Forks the runner in `mode` with an IPC channel using the structured-clone ("advanced") serialization. */
export function forkRunner(mode: "pool" | "process", lifetime: "daemon" | "keep", options: ForkOptions): ChildProcess {
  const child = fork(runnerPath, [mode, lifetime], {
    serialization: "advanced",
    execArgv: options.execArgv ?? [],
    env: options.env ?? process.env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // The first 'exit' listener: it runs before those of Process and the pools, registered after this returns.
  child.once("exit", () => {
    if (childExitChannel.hasSubscribers) childExitChannel.publish({ pid: child.pid });
  });
  return child;
}

/**
 * Kills `child` when this process exits. The runner also exits when its IPC channel closes, which covers a parent
 * killed without running exit handlers; this hook covers a child busy in synchronous code.
 */
export function registerDaemon(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of daemons) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    });
  }
  daemons.add(child);
  child.once("exit", () => daemons.delete(child));
}

/** Lets the parent exit while `child` runs (or not). */
export function setChildRef(child: ChildProcess, ref: boolean): void {
  const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
  if (ref) {
    child.ref();
    channel?.ref?.();
  } else {
    child.unref();
    channel?.unref?.();
  }
}
