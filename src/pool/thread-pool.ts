/**
 * ThreadPoolExecutor: runs tasks on worker threads, with piscina underneath.
 */
import { availableParallelism } from "node:os";
import type { ResourceLimits } from "node:worker_threads";
import { Piscina } from "piscina";
import { validateInteger } from "../sync/options.js";
import { WorkerDiedError } from "./errors.js";
import { Executor, type WorkItem } from "./executor.js";
import { kProbe } from "./future.js";
import { fromReply } from "./thread-wire.js";
import { StartFlags } from "./start-flags.js";

/** Options of {@link ThreadPoolExecutor}. */
export interface ThreadPoolExecutorOptions {
  /** Most worker threads, and tasks running at once. Default as Python: `min(32, cores + 4)`. */
  maxWorkers?: number | undefined;
  /** Memory limits of each worker; a worker that exceeds them dies and only its task fails (`E_WORKER_DIED`). */
  resourceLimits?: ResourceLimits | undefined;
  /** Milliseconds an idle worker lingers before it exits (default 60 000). Idle workers never keep the process alive. */
  idleTimeout?: number | undefined;
  /** Environment of the workers (default: shared with the main thread, as worker_threads does). */
  env?: Record<string, string> | undefined;
}

const runnerUrl = new URL("./thread-runner.js", import.meta.url).href;

/**
 * An executor whose workers are threads: good for CPU-bound JavaScript and for work that benefits from shared
 * memory (`SharedArrayBuffer`, the `Shared*` primitives of `wharf/sync`). Tasks start in submission order; a future
 * can be cancelled until a thread starts it, even when it was already handed to piscina (see start-flags.ts). A
 * worker that dies (`process.exit()` in the task, an uncaught
 * error, running out of memory) fails only the future it was running, with {@link WorkerDiedError}; the pool
 * starts a fresh worker and keeps serving.
 *
 * piscina (a well-kept worker-thread pool) starts, reuses and replaces the threads and moves messages; wharf adds
 * the futures, cancellation, `map`/`wait`/`asCompleted`, Python's shutdown rules, named exports of any module as
 * tasks, error reconstruction and the worker-death contract.
 *
 * @example
 * ```ts
 * const executor = new ThreadPoolExecutor({ maxWorkers: 4 });
 * const fib = task<typeof import("./tasks.js").fib>(new URL("./tasks.js", import.meta.url), "fib");
 * const futures = [25, 26, 27].map((n) => executor.submit(fib, n));
 * for (const f of futures) console.log(await f.result());
 * await executor.shutdown();
 * ```
 */
export class ThreadPoolExecutor extends Executor {
  readonly #piscina: Piscina;
  readonly #window: number;
  readonly #flags: StartFlags;

  constructor(options: ThreadPoolExecutorOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    super(options.maxWorkers ?? Math.min(32, availableParallelism() + 4));
    const idleTimeout = options.idleTimeout ?? 60_000;
    if (idleTimeout !== Infinity) validateInteger(idleTimeout, "options.idleTimeout", 0);
    this.#window = this.maxWorkers * 64;
    this.#flags = new StartFlags(this.#window);
    this.#piscina = new Piscina({
      filename: runnerUrl,
      minThreads: 0,
      maxThreads: this.maxWorkers,
      idleTimeout,
      resourceLimits: options.resourceLimits,
      env: options.env,
      workerData: { flags: this.#flags.buffer },
      // piscina's default puts a task it could not place at the back of its queue; we promise submission order.
      stricterFIFO: true,
    });
    // piscina reports a worker that crashes between tasks as an 'error' event; no future is affected, and an
    // unhandled 'error' event would crash the whole process.
    this.#piscina.on("error", () => {});
  }

  /** Worker threads alive right now. */
  get threadCount(): number {
    return this.#piscina.threads.length;
  }

  /**
   * A few tasks per thread go to piscina ahead of time, so a thread that finishes finds its next task waiting
   * instead of sleeping until the main thread's next turn. They stay cancellable through their start flags.
   */
  protected override get dispatchWindow(): number {
    return this.#window;
  }

  protected override admit(item: WorkItem): boolean {
    return !item.future.cancelled();
  }

  protected start(item: WorkItem): void {
    const slot = this.#flags.take();
    item.future[kProbe](this.#flags.probe(slot));
    const request = { url: item.task.url, name: item.task.name, args: item.args, slot };
    const running =
      item.transferList.length === 0
        ? this.#piscina.run(request)
        : this.#piscina.run(request, { transferList: item.transferList as never });
    running.then(
      (reply: unknown) => {
        this.#flags.free(slot);
        const outcome = fromReply(reply);
        this.complete(item, outcome === "skipped" ? { skipped: true } : outcome);
      },
      (error: unknown) => {
        this.#flags.free(slot);
        this.complete(item, { ok: false, died: died(error) });
      },
    );
  }

  protected async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}

/** Our runner never rejects, so a rejection from piscina means the worker thread itself went away. */
function died(error: unknown): WorkerDiedError {
  const message = error instanceof Error ? error.message : String(error);
  const exit = /worker exited with code: (-?\d+)/.exec(message);
  return new WorkerDiedError(`the worker thread running the task died: ${message}`, {
    exitCode: exit === null ? null : Number(exit[1]),
    cause: error,
  });
}
