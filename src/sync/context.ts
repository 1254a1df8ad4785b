/**
 * Async contexts: the owner identity of an {@link RLock}, the async analogue of a thread.
 *
 * A context is an object kept in one AsyncLocalStorage shared by all RLocks. Node propagates the store to every
 * async operation (promise continuation, timer, I/O callback) started while it is current, so "the await chain of
 * a context" is everything started from inside it.
 *
 * Contexts come from three places:
 * - `RLock.runExclusive(fn)` and `RLock.context(fn)` run `fn` in a fresh child context (`AsyncLocalStorage.run`).
 *   Child contexts can re-enter locks held by their ancestors.
 * - A bare `acquire()` / `tryAcquire()` outside any context enters a fresh root context for the rest of the caller
 *   (`AsyncLocalStorage.enterWith`). enterWith also leaks into whatever the caller's caller runs next in the same
 *   synchronous turn; to keep two async functions started one after another in the same turn apart (the common
 *   `Promise.all([worker(1), worker(2)])` shape) and to make leaked contexts harmless, see ensureContext().
 */
import { AsyncLocalStorage, executionAsyncResource } from "node:async_hooks";

/**
 * One owner identity. `entered` is the async resource a bare acquire entered it in (via enterWith), undefined for
 * contexts made by `run`. `held` counts the RLocks it owns right now.
 */
export interface OwnerContext {
  readonly parent: OwnerContext | undefined;
  readonly entered: object | undefined;
  held: number;
}

const storage = new AsyncLocalStorage<OwnerContext>();

/** The context the caller runs in, if any. */
export function currentContext(): OwnerContext | undefined {
  return storage.getStore();
}

/** Runs `fn` in a fresh child context of the current one. */
export function runInChildContext<R>(fn: () => R): R {
  return storage.run({ parent: storage.getStore(), entered: undefined, held: 0 }, fn);
}

/**
 * The caller's context for a bare acquire. Contexts made by `run` are used as they are. A context entered by an
 * earlier bare acquire is used only while it holds some RLock and the caller is not in the very synchronous
 * execution that entered it; otherwise the caller gets a fresh context. A stale entered context that leaked to an
 * unrelated chain therefore costs nothing once its owner has released everything, and a sibling started in the same
 * turn never passes for its owner.
 */
export function ensureContext(): OwnerContext {
  const store = storage.getStore();
  if (store !== undefined) {
    if (store.entered === undefined) return store;
    if (store.held > 0 && store.entered !== executionAsyncResource()) return store;
  }
  const context: OwnerContext = { parent: undefined, entered: executionAsyncResource(), held: 0 };
  storage.enterWith(context);
  return context;
}

/** True if `context` is `owner` or one of its descendants. */
export function isWithin(context: OwnerContext | undefined, owner: OwnerContext): boolean {
  for (let c = context; c !== undefined; c = c.parent) if (c === owner) return true;
  return false;
}
