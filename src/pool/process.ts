/**
 * Process: run one task in a child process, Node's `multiprocessing.Process`.
 */
import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { validateWaitOptions } from "../sync/options.js";
import { forkRunner, registerDaemon, setChildRef, type ForkOptions } from "./children.js";
import { ProcessStateError } from "./errors.js";
import { reduceArgs } from "./reduce.js";
import { unwrapArgs, validateTask, type Task } from "./task.js";

/** Options of {@link Process}. */
export interface ProcessOptions extends ForkOptions {
  /**
   * A daemon child dies with its parent and does not keep it alive; a non-daemon child (default) keeps the parent
   * running until it ends, as in Python.
   */
  daemon?: boolean | undefined;
  /** A name for logs (default `Process-N`). */
  name?: string | undefined;
}

/** Options of {@link Process.join}. */
export interface JoinOptions {
  /** Milliseconds to wait at most. */
  timeout?: number | undefined;
}

let counter = 0;

/**
 * A child process that runs `task(...args)` once and exits: code 0 if the task returned (or its promise
 * fulfilled), 1 if it threw (its stack is printed to stderr), or whatever it passed to `process.exit()`. Killed by
 * a signal, `exitCode` is minus the signal number, as in Python (`-15` after `terminate()`).
 *
 * @example
 * ```ts
 * const proc = new Process(task(new URL("./tasks.js", import.meta.url), "crunch"), [1000], { daemon: true });
 * proc.start();
 * if (!(await proc.join({ timeout: 5000 }))) proc.terminate();
 * console.log(proc.exitCode);
 * ```
 */
export class Process {
  readonly #task: Task;
  readonly #args: unknown[];
  readonly #daemon: boolean;
  readonly #fork: ForkOptions;
  readonly name: string;
  #child: ChildProcess | undefined;
  #exitCode: number | null = null;
  #exited: Promise<void> | undefined;

  constructor(task: Task, args: readonly unknown[] = [], options: ProcessOptions = {}) {
    validateTask(task);
    if (!Array.isArray(args)) throw new TypeError("args must be an array");
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    if (options.daemon !== undefined && typeof options.daemon !== "boolean") {
      throw new TypeError("options.daemon must be a boolean");
    }
    counter += 1;
    this.#task = task;
    this.#args = unwrapArgs(args).args;
    this.#daemon = options.daemon ?? false;
    this.#fork = { execArgv: options.execArgv, env: options.env };
    this.name = options.name ?? `Process-${counter}`;
  }

  /** Whether the child dies with the parent (see {@link ProcessOptions.daemon}). */
  get daemon(): boolean {
    return this.#daemon;
  }

  /** The child's process id, once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** `null` while running (or not started); then the exit code, or minus the signal number. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /**
   * Forks the child and sends it the task. Throws {@link ProcessStateError} if called twice.
   *
   * @example
   * ```ts
   * proc.start();
   * ```
   */
  start(): void {
    if (this.#child !== undefined) throw new ProcessStateError("a Process can only be started once");
    const child = forkRunner("process", this.#daemon ? "daemon" : "keep", this.#fork);
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.#exitCode = signal !== null ? -(constants.signals[signal] ?? 1) : (code ?? 1);
        resolve();
      });
    });
    child.on("error", () => {}); // a failed send surfaces as the child's exit
    // Process-shared objects among the arguments (wharf/multiprocessing) travel as descriptions the child revives.
    const { args, reduced } = reduceArgs(this.#args);
    child.send({ url: this.#task.url, name: this.#task.name, args, reduced });
    if (this.#daemon) {
      registerDaemon(child);
      setChildRef(child, false);
    }
  }

  /**
   * Waits for the child to end: `true` once it has, `false` if `timeout` ran out first. Rejects with
   * {@link ProcessStateError} if the process was never started.
   *
   * @example
   * ```ts
   * const ended = await proc.join({ timeout: 1000 });
   * ```
   */
  async join(options: JoinOptions = {}): Promise<boolean> {
    validateWaitOptions({ timeout: options.timeout });
    if (this.#exited === undefined) throw new ProcessStateError("can only join a started process");
    if (this.#exitCode !== null) return true;
    const timeout = options.timeout;
    if (timeout === undefined || timeout === Infinity) {
      // A daemon child is unref'd; someone waiting for it must keep the loop alive until it exits.
      if (this.#daemon) setChildRef(this.#child!, true);
      await this.#exited;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeout, false)));
    try {
      return await Promise.race([this.#exited.then(() => true), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * True between `start()` and the child's exit.
   *
   * @example
   * ```ts
   * while (proc.isAlive()) await sleep(100);
   * ```
   */
  isAlive(): boolean {
    return this.#child !== undefined && this.#exitCode === null;
  }

  /**
   * Asks the child to stop with SIGTERM (`exitCode` becomes -15 unless the task handles the signal).
   *
   * @example
   * ```ts
   * proc.terminate();
   * await proc.join();
   * ```
   */
  terminate(): void {
    if (this.isAlive()) this.#child!.kill("SIGTERM");
  }

  /**
   * Stops the child with SIGKILL (`exitCode` -9).
   *
   * @example
   * ```ts
   * proc.kill();
   * ```
   */
  kill(): void {
    if (this.isAlive()) this.#child!.kill("SIGKILL");
  }
}
