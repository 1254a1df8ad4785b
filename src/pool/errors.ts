/**
 * Errors of `wharf/pool`. Every failure the pool itself raises is a {@link WharfPoolError}, a {@link WharfError}
 * with a stable `code` (from `PoolErrorCode`).
 * An error thrown by a task is not wrapped: the future rejects with a rebuilt copy of it (same class for built-in
 * errors, same name, message, stack, `code` and other cloneable own properties).
 */
import { PoolErrorCode, WharfError } from "../errors/index.js";

/**
 * Base class of every error raised by `wharf/pool` itself.
 *
 * @example
 * ```ts
 * try { await future.result(); } catch (err) {
 *   if (err instanceof WharfPoolError) console.log(err.code);
 * }
 * ```
 */
export class WharfPoolError extends WharfError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options); // WharfError names the error after the class constructed (new.target)
  }
}

/**
 * A `result()`, `exception()`, `map()` or `asCompleted()` whose timeout ran out. The task keeps running.
 *
 * @example
 * ```ts
 * await future.result({ timeout: 100 }).catch((err) => console.log(err.code)); // "E_TIMEOUT"
 * ```
 */
export class TimeoutError extends WharfPoolError {
  constructor(message: string) {
    super(PoolErrorCode.TIMEOUT, message);
  }
}

/**
 * The result of a future that was cancelled before it started.
 *
 * @example
 * ```ts
 * if (future.cancel()) await future.result().catch((err) => console.log(err.code)); // "E_CANCELLED"
 * ```
 */
export class CancelledError extends WharfPoolError {
  constructor(message = "the future was cancelled") {
    super(PoolErrorCode.CANCELLED, message);
  }
}

/**
 * The worker thread or child process running the task died (exited, crashed with an uncaught error, ran out of
 * memory, was killed). Only that task's future fails; the executor replaces the worker and keeps serving.
 *
 * @example
 * ```ts
 * await future.result().catch((err) => {
 *   if (err.code === "E_WORKER_DIED") console.log("worker died:", err.exitCode, err.signal, err.cause);
 * });
 * ```
 */
export class WorkerDiedError extends WharfPoolError {
  /** Exit code of the worker or process, when it exited with one. */
  readonly exitCode: number | null;
  /** Signal that killed the child process, if any. */
  readonly signal: string | null;

  constructor(message: string, details: { exitCode?: number | null; signal?: string | null; cause?: unknown } = {}) {
    super(PoolErrorCode.WORKER_DIED, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
  }
}

/**
 * `submit()` or `map()` after `shutdown()` (Python's RuntimeError "cannot schedule new futures after shutdown").
 *
 * @example
 * ```ts
 * await executor.shutdown();
 * try { executor.submit(work); } catch (err) { console.log(err.code); } // "E_SHUTDOWN"
 * ```
 */
export class ShutdownError extends WharfPoolError {
  constructor(message = "cannot schedule new futures after shutdown") {
    super(PoolErrorCode.SHUTDOWN, message);
  }
}

/**
 * The task's module loaded but has no export of that name that is a function, or the module could not be
 * imported (then `cause` holds the import error).
 *
 * @example
 * ```ts
 * await executor.submit(task(url, "missing")).result().catch((err) => console.log(err.code)); // "E_TASK_NOT_FOUND"
 * ```
 */
export class TaskNotFoundError extends WharfPoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(PoolErrorCode.TASK_NOT_FOUND, message, options);
  }
}

/**
 * A `Process` used out of order: started twice, or joined before it was started.
 *
 * @example
 * ```ts
 * proc.start();
 * try { proc.start(); } catch (err) { console.log(err.code); } // "E_PROCESS_STATE"
 * ```
 */
export class ProcessStateError extends WharfPoolError {
  constructor(message: string) {
    super(PoolErrorCode.PROCESS_STATE, message);
  }
}
