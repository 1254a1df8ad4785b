/**
 * ProcessPoolExecutor: runs tasks in child processes, one task at a time per child.
 */
import type { ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { forkRunner, registerDaemon, setChildRef, type ForkOptions } from "./children.js";
import { WorkerDiedError } from "./errors.js";
import { Executor, type WorkItem } from "./executor.js";
import { reduceArgs } from "./reduce.js";
import type { Outcome } from "./run-task.js";

/** Options of {@link ProcessPoolExecutor}. */
export interface ProcessPoolExecutorOptions extends ForkOptions {
  /** Most child processes, and tasks running at once. Default as Python: the number of cores. */
  maxWorkers?: number | undefined;
}

interface Child {
  readonly process: ChildProcess;
  item: WorkItem | undefined;
  exited: Promise<void>;
}

/**
 * An executor whose workers are child processes (`child_process.fork` of wharf's runner, structured-clone IPC).
 * Use it for work that must be isolated: native crashes, `process.exit`, memory that must be returned to the OS,
 * or libraries that are not thread-safe. Children start on demand and are reused.
 *
 * A child that dies while running a task (exit, uncaught error, out of memory, killed) fails only that future with
 * {@link WorkerDiedError} (`exitCode`, `signal`); the next task gets a fresh child. Children never outlive the
 * parent: they exit when the IPC channel closes and are killed on the parent's `exit`. Idle children do not keep
 * the parent alive. Same ordering, cancellation and shutdown rules as every {@link Executor}.
 *
 * @example
 * ```ts
 * const executor = new ProcessPoolExecutor({ maxWorkers: 2 });
 * const results = executor.map(task(new URL("./tasks.js", import.meta.url), "fib"), [20, 21, 22]);
 * for await (const n of results) console.log(n);
 * await executor.shutdown();
 * ```
 */
export class ProcessPoolExecutor extends Executor {
  readonly #options: ForkOptions;
  readonly #children = new Set<Child>();
  readonly #idle: Child[] = [];
  #nextId = 0;

  constructor(options: ProcessPoolExecutorOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    super(options.maxWorkers ?? availableParallelism());
    if (options.execArgv !== undefined && !Array.isArray(options.execArgv)) {
      throw new TypeError("options.execArgv must be an array of strings");
    }
    this.#options = { execArgv: options.execArgv, env: options.env };
  }

  /** Child processes alive right now. */
  get processCount(): number {
    return this.#children.size;
  }

  /** Process ids of the live children. */
  get pids(): number[] {
    return [...this.#children].map((c) => c.process.pid!).filter((pid) => pid !== undefined);
  }

  protected start(item: WorkItem): void {
    const child = this.#idle.pop() ?? this.#spawn();
    child.item = item;
    setChildRef(child.process, true);
    const id = this.#nextId++;
    (child as { id?: number }).id = id;
    const { args, reduced } = reduceArgs(item.args);
    child.process.send({ id, url: item.task.url, name: item.task.name, args, reduced }, (error) => {
      if (error && child.item === item) {
        // Arguments that cannot be serialized fail this task; the child is unaffected.
        child.item = undefined;
        this.#makeIdle(child);
        this.complete(item, { ok: false, died: error });
      }
    });
  }

  protected async close(): Promise<void> {
    const children = [...this.#children];
    for (const child of children) {
      // Idle children are unref'd; keep the loop alive until each one has really exited.
      setChildRef(child.process, true);
      if (child.process.connected) child.process.disconnect();
    }
    await Promise.all(children.map((c) => c.exited));
  }

  #spawn(): Child {
    const process = forkRunner("pool", "daemon", this.#options);
    registerDaemon(process);
    const child: Child = {
      process,
      item: undefined,
      exited: new Promise((resolve) => process.once("exit", () => resolve())),
    };
    this.#children.add(child);
    process.on("message", (message: { id: number; outcome: Outcome }) => {
      const item = child.item;
      if (item === undefined || message.id !== (child as { id?: number }).id) return;
      child.item = undefined;
      this.#makeIdle(child);
      this.complete(item, message.outcome);
    });
    // A send to a child that just died fails with EPIPE; the exit handler reports the death.
    process.on("error", () => {});
    process.once("exit", (code, signal) => {
      this.#children.delete(child);
      const at = this.#idle.indexOf(child);
      if (at !== -1) this.#idle.splice(at, 1);
      const item = child.item;
      if (item === undefined) return;
      child.item = undefined;
      const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      this.complete(item, {
        ok: false,
        died: new WorkerDiedError(`the child process running the task ${how}`, { exitCode: code, signal }),
      });
    });
    return child;
  }

  #makeIdle(child: Child): void {
    setChildRef(child.process, false);
    this.#idle.push(child);
  }
}
