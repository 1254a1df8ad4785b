/**
 * Local: attributes per async context and per worker thread, Python's `threading.local`.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** One context of every Local: a key into each Local's values. */
type Token = object;

const storage = new AsyncLocalStorage<Token>();

/**
 * Values that each "thread" of work sees its own copy of, like Python's `threading.local()`. In Node a thread of
 * work is an async context: `Local.run(fn)` starts one, and `fn`, every `await` in it and everything it starts
 * (promises, timers, I/O callbacks) see the same values, which no other context sees. Outside any `run()`, code
 * sees the values of its worker thread (the main thread is one), so each worker thread has its own, as each
 * Python thread has.
 *
 * What differs from Python, plainly: a Python thread gets fresh values by existing; an async function gets them
 * only inside `Local.run()`. Two async functions started side by side without it share the values of their
 * thread, because they do run on one thread. And work started inside a context inherits it (a timer set in
 * `run()` still sees that context's values when it fires), where a Python thread started from another starts
 * empty.
 *
 * `value` is created on first access in a context with `init()` (default: an empty object).
 *
 * @example
 * ```ts
 * import { Local } from "wharf/sync";
 * const request = new Local<{ id?: number }>();
 * async function handle(id: number) {
 *   request.value.id = id;
 *   await new Promise((r) => setTimeout(r, Math.random() * 10));
 *   console.log(id === request.value.id); // true for every call: each runs in its own context
 * }
 * await Promise.all([1, 2, 3].map((id) => Local.run(() => handle(id))));
 * ```
 */
export class Local<T extends object = Record<string, unknown>> {
  readonly #init: () => T;
  readonly #values = new WeakMap<Token, T>();
  /** The values outside any context: this worker thread's (module state is per thread). */
  #root: T | undefined;

  constructor(init?: () => T) {
    if (init !== undefined && typeof init !== "function") throw new TypeError("init must be a function");
    this.#init = init ?? (() => ({}) as T);
  }

  /**
   * Runs `fn` in a fresh context: inside it, every Local starts over (with its `init()`). Returns what `fn`
   * returns (a promise stays in the context until it settles).
   *
   * @example
   * ```ts
   * await Local.run(async () => { local.value.user = "ann"; await work(); });
   * ```
   */
  static run<R>(fn: () => R): R {
    if (typeof fn !== "function") throw new TypeError("fn must be a function");
    return storage.run({}, fn);
  }

  /**
   * The same as {@link Local.run}: a fresh context for every Local.
   *
   * @example
   * ```ts
   * await local.run(() => serve(connection));
   * ```
   */
  run<R>(fn: () => R): R {
    return Local.run(fn);
  }

  /**
   * This context's values (created with `init()` on first access).
   *
   * @example
   * ```ts
   * local.value.count = (local.value.count ?? 0) + 1;
   * ```
   */
  get value(): T {
    const token = storage.getStore();
    if (token === undefined) return (this.#root ??= this.#init());
    let value = this.#values.get(token);
    if (value === undefined) {
      value = this.#init();
      this.#values.set(token, value);
    }
    return value;
  }

  /**
   * Forgets this context's values; the next access starts over with `init()`.
   *
   * @example
   * ```ts
   * local.clear();
   * ```
   */
  clear(): void {
    const token = storage.getStore();
    if (token === undefined) this.#root = undefined;
    else this.#values.delete(token);
  }
}
