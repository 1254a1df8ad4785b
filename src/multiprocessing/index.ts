/**
 * `wharf/multiprocessing`: Python's `multiprocessing` for Node. Locks, semaphores, events, conditions,
 * barriers, queues and pipes shared by processes, passed to children as arguments; a Manager of shared dicts,
 * lists and namespaces; and `Process` and `ProcessPoolExecutor` from `wharf/pool`. See docs/sync.md
 * ("Across processes") and docs/architecture.md for how they work.
 *
 * @example
 * ```ts
 * import { Lock, Process, Queue } from "wharf/multiprocessing";
 * import { task } from "wharf/pool";
 * const lock = new Lock();
 * const q = new Queue<number>();
 * const p = new Process(task(new URL("./worker.js", import.meta.url), "worker"), [lock, q]);
 * p.start();
 * console.log(await q.get());
 * await p.join();
 * ```
 */
export { Lock, RLock } from "./lock.js";
export { BoundedSemaphore, Semaphore } from "./semaphore.js";
export { Barrier, Condition, Event, type BarrierOptions } from "./event.js";
export { JoinableQueue, Queue, type QueueOptions } from "./queue.js";
export { Connection, Pipe, type RecvOptions } from "./pipe.js";
export { Manager, type ManagerConnectOptions, type ManagerOptions } from "./manager.js";
export { DictProxy, ListProxy, NamespaceProxy } from "./proxies.js";
export { SharedObject } from "./handle.js";
export type { Address } from "./broker.js";
export { AuthkeyError, BrokerGoneError, PipeClosedError } from "./errors.js";
export { MultiprocessingErrorCode, WharfError } from "../errors/index.js";
export {
  BrokenBarrierError,
  NotHeldError,
  NotOwnerError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TooManyReleasesError,
  TooManyTaskDoneError,
  WaitTimeoutError,
} from "../sync/errors.js";
export type { WaitOptions } from "../sync/options.js";
export {
  Process,
  ProcessPoolExecutor,
  task,
  type JoinOptions,
  type ProcessOptions,
  type ProcessPoolExecutorOptions,
  type Task,
} from "../pool/index.js";
