/**
 * `wharf/sync`: Python-style synchronization primitives for one event loop (Lock, RLock, Semaphore,
 * BoundedSemaphore, Event, Condition, Barrier, Queue, LifoQueue, PriorityQueue), across worker threads
 * (SharedLock, SharedSemaphore, SharedEvent, SharedQueue), and `Local` (Python's `threading.local`). For
 * processes, see `wharf/multiprocessing`. See docs/sync.md.
 *
 * @example
 * ```ts
 * import { Lock, Queue } from "wharf/sync";
 * ```
 */
export {
  BrokenBarrierError,
  ItemTooLargeError,
  NotHeldError,
  NotOwnerError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TooManyReleasesError,
  TooManyTaskDoneError,
  WaitTimeoutError,
  WharfSyncError,
} from "./errors.js";
export { SyncErrorCode, WharfError } from "../errors/index.js";
export type { WaitOptions } from "./options.js";
export { Lock, type LockOptions } from "./lock.js";
export { RLock, type RLockOptions } from "./rlock.js";
export { BoundedSemaphore, Semaphore, type SemaphoreOptions } from "./semaphore.js";
export { Event, type EventOptions } from "./event.js";
export { Condition, type ConditionOptions } from "./condition.js";
export { Barrier, type BarrierOptions } from "./barrier.js";
export { Queue, type QueueOptions } from "./queue.js";
export { LifoQueue } from "./lifo-queue.js";
export { PriorityQueue, type PriorityQueueOptions } from "./priority-queue.js";
export { Local } from "./local.js";
export { SharedLock, type SharedLockHandle, type SharedLockOptions } from "./shared/shared-lock.js";
export {
  SharedSemaphore,
  type SharedSemaphoreHandle,
  type SharedSemaphoreOptions,
} from "./shared/shared-semaphore.js";
export { SharedEvent, type SharedEventHandle, type SharedEventOptions } from "./shared/shared-event.js";
export { SharedQueue, type SharedQueueHandle, type SharedQueueOptions } from "./shared/shared-queue.js";
