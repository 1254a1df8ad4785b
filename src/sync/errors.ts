/**
 * Errors of `wharf/sync`. Every runtime failure is a {@link WharfSyncError}, a {@link WharfError} with a stable
 * string `code` (from `SyncErrorCode`), so that callers can branch on `err.code` without depending on class
 * identity (which breaks across bundles and realms), and a server handler that lets one escape replies with it.
 */
import { SyncErrorCode, WharfError } from "../errors/index.js";

/**
 * Base class of every runtime error raised by `wharf/sync`.
 *
 * @example
 * ```ts
 * try { queue.getNowait(); } catch (err) {
 *   if (err instanceof WharfSyncError && err.code === "E_QUEUE_EMPTY") console.log("nothing yet");
 * }
 * ```
 */
export class WharfSyncError extends WharfError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options); // WharfError names the error after the class constructed (new.target)
  }
}

/**
 * Releasing a lock that is not held, or waiting on / notifying a Condition without holding its lock.
 *
 * @example
 * ```ts
 * const lock = new Lock();
 * try { lock.release(); } catch (err) { console.log((err as NotHeldError).code); } // "E_NOT_HELD"
 * ```
 */
export class NotHeldError extends WharfSyncError {
  constructor(message: string) {
    super(SyncErrorCode.NOT_HELD, message);
  }
}

/**
 * An RLock released by an async context that does not own it.
 *
 * @example
 * ```ts
 * await rlock.runExclusive(async () => {
 *   await RLock.context(() => rlock.release()); // throws NotOwnerError, code "E_NOT_OWNER"
 * });
 * ```
 */
export class NotOwnerError extends WharfSyncError {
  constructor(message: string) {
    super(SyncErrorCode.NOT_OWNER, message);
  }
}

/**
 * A BoundedSemaphore released more times than it was acquired (Python's ValueError).
 *
 * @example
 * ```ts
 * const sem = new BoundedSemaphore(1);
 * try { sem.release(); } catch (err) { console.log((err as TooManyReleasesError).code); } // "E_TOO_MANY_RELEASES"
 * ```
 */
export class TooManyReleasesError extends WharfSyncError {
  constructor(message: string) {
    super(SyncErrorCode.TOO_MANY_RELEASES, message);
  }
}

/**
 * `taskDone()` called more times than there were items put.
 *
 * @example
 * ```ts
 * const q = new Queue();
 * try { q.taskDone(); } catch (err) { console.log((err as TooManyTaskDoneError).code); } // "E_TOO_MANY_TASK_DONE"
 * ```
 */
export class TooManyTaskDoneError extends WharfSyncError {
  constructor(message = "taskDone() called too many times") {
    super(SyncErrorCode.TOO_MANY_TASK_DONE, message);
  }
}

/**
 * `putNowait()` on a full queue, or `put()` whose timeout ran out while the queue stayed full.
 *
 * @example
 * ```ts
 * const q = new Queue({ maxsize: 1 });
 * q.putNowait(1);
 * try { q.putNowait(2); } catch (err) { console.log((err as QueueFull).code); } // "E_QUEUE_FULL"
 * ```
 */
export class QueueFull extends WharfSyncError {
  constructor(message = "queue is full") {
    super(SyncErrorCode.QUEUE_FULL, message);
  }
}

/**
 * `getNowait()` on an empty queue, or `get()` whose timeout ran out while the queue stayed empty.
 *
 * @example
 * ```ts
 * try { new Queue().getNowait(); } catch (err) { console.log((err as QueueEmpty).code); } // "E_QUEUE_EMPTY"
 * ```
 */
export class QueueEmpty extends WharfSyncError {
  constructor(message = "queue is empty") {
    super(SyncErrorCode.QUEUE_EMPTY, message);
  }
}

/**
 * A put on a queue that was shut down, or a get on a shut-down queue with nothing left to drain.
 *
 * @example
 * ```ts
 * const q = new Queue();
 * q.shutdown();
 * await q.put(1).catch((err) => console.log(err.code)); // "E_QUEUE_SHUT_DOWN"
 * ```
 */
export class QueueShutDown extends WharfSyncError {
  constructor(message = "queue is shut down") {
    super(SyncErrorCode.QUEUE_SHUT_DOWN, message);
  }
}

/**
 * Waiting on a Barrier that is broken: aborted, reset while parties waited, a waiter gave up, or the action threw.
 *
 * @example
 * ```ts
 * const barrier = new Barrier(2);
 * barrier.abort();
 * await barrier.wait().catch((err) => console.log(err.code)); // "E_BROKEN_BARRIER"
 * ```
 */
export class BrokenBarrierError extends WharfSyncError {
  constructor(message = "barrier is broken") {
    super(SyncErrorCode.BROKEN_BARRIER, message);
  }
}

/**
 * `runExclusive(fn, { timeout })` could not acquire within the timeout, so `fn` never ran.
 *
 * @example
 * ```ts
 * await lock.runExclusive(work, { timeout: 100 }).catch((err) => console.log(err.code)); // "E_TIMEOUT"
 * ```
 */
export class WaitTimeoutError extends WharfSyncError {
  constructor(message: string) {
    super(SyncErrorCode.TIMEOUT, message);
  }
}

/**
 * An item whose serialized form does not fit in a SharedQueue slot (`options.itemSize` bytes).
 *
 * @example
 * ```ts
 * const q = new SharedQueue({ maxsize: 4, itemSize: 16 });
 * await q.put("x".repeat(100)).catch((err) => console.log(err.code)); // "E_ITEM_TOO_LARGE"
 * ```
 */
export class ItemTooLargeError extends WharfSyncError {
  constructor(message: string) {
    super(SyncErrorCode.ITEM_TOO_LARGE, message);
  }
}
