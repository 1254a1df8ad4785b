/**
 * The internal contract between {@link Condition} and the locks it can wrap (Python's `_release_save`,
 * `_acquire_restore` and `_is_owned`). Symbols, so that it stays out of the public surface.
 */

/** Fully releases the lock (all re-entrant levels) and returns what is needed to restore it. */
export const kReleaseSave = Symbol("wharf.sync.releaseSave");
/** Re-acquires the lock (without timeout or abort) and restores the state saved by kReleaseSave. */
export const kAcquireRestore = Symbol("wharf.sync.acquireRestore");
/** True when the caller may release the lock: held at all (Lock) or held by this async context (RLock). */
export const kIsOwned = Symbol("wharf.sync.isOwned");

/** A lock a Condition can wrap: {@link Lock} or {@link RLock}. */
export interface ConditionLock {
  acquire(options?: { timeout?: number | undefined; signal?: AbortSignal | undefined }): Promise<boolean>;
  tryAcquire(): boolean;
  release(): void;
  locked(): boolean;
  [kReleaseSave](): unknown;
  [kAcquireRestore](saved: unknown): Promise<void>;
  [kIsOwned](): boolean;
}
