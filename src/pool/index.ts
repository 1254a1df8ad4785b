/**
 * `wharf/pool`: Python's `concurrent.futures` and `multiprocessing.Process` for Node. Thread and process pools
 * returning futures, `wait`/`asCompleted`, and single child processes. See docs/pool.md.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor, task } from "wharf/pool";
 * ```
 */
export {
  CancelledError,
  ProcessStateError,
  ShutdownError,
  TaskNotFoundError,
  TimeoutError,
  WharfPoolError,
  WorkerDiedError,
} from "./errors.js";
export { PoolErrorCode, WharfError } from "../errors/index.js";
export { task, transfer, type Task, type Transfer, type Transferable } from "./task.js";
export { Future, type ResultOptions } from "./future.js";
export {
  ALL_COMPLETED,
  asCompleted,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  wait,
  type AsCompletedOptions,
  type DoneAndNotDone,
  type ReturnWhen,
  type WaitFuturesOptions,
} from "./wait.js";
export { Executor, type MapOptions, type ShutdownOptions, type TaskArgs, type WorkItem } from "./executor.js";
export { ThreadPoolExecutor, type ThreadPoolExecutorOptions } from "./thread-pool.js";
export { ProcessPoolExecutor, type ProcessPoolExecutorOptions } from "./process-pool.js";
export { Process, type JoinOptions, type ProcessOptions } from "./process.js";
export type { ForkOptions } from "./children.js";
