/**
 * Queue and JoinableQueue shared by processes: `multiprocessing.Queue` and `multiprocessing.JoinableQueue`.
 */
import { validateInteger, type WaitOptions } from "../sync/options.js";
import { registerHandle, SharedObject } from "./handle.js";
import "./objects/sync-states.js";

/** Options of {@link Queue}. */
export interface QueueOptions {
  /** Most items held; 0 (default) for no limit. */
  maxsize?: number | undefined;
}

/**
 * A FIFO queue shared by processes. Items are copied with the structured clone (what `process.send` and
 * `postMessage` use: plain objects, arrays, Map, Set, Date, typed arrays, errors), as Python pickles them.
 *
 * On an unbounded queue (`maxsize` 0) `put()` resolves as soon as the item is on its way, as Python's `put()`
 * returns once the item is buffered for its feeder thread: items of one process arrive in order, and a burst
 * of puts leaves in one write. Such a put that races a `shutdown()` is dropped without an error. A bounded
 * queue's `put()` waits for room and reports every failure.
 *
 * A consumer that dies while parked in `get()` takes no item with it: its wait is withdrawn. An item already
 * handed to a process that then dies is lost with it (as in Python).
 *
 * @example
 * ```ts
 * const q = new Queue<string>();
 * new Process(task(new URL("./writer.js", import.meta.url), "write"), [q]).start();
 * console.log(await q.get()); // what the child put
 * ```
 */
export class Queue<T = unknown> extends SharedObject implements AsyncIterable<T> {
  constructor(options: QueueOptions = {}) {
    super(
      new.target === JoinableQueue ? "JoinableQueue" : "Queue",
      () => [validateInteger(options.maxsize ?? 0, "options.maxsize", 0)],
      () => options.maxsize ?? 0,
    );
  }

  /** The queue's size limit (0: none). */
  get maxsize(): number {
    return this.ref.extra as number;
  }

  /**
   * Puts an item, waiting for room on a bounded queue. Rejects with `QueueFull` if `timeout` ran out,
   * `QueueShutDown` after `shutdown()`, `signal.reason` on abort.
   *
   * @example
   * ```ts
   * await q.put({ order: 7 });
   * ```
   */
  put(item: T, options?: WaitOptions): Promise<void> {
    if (this.maxsize === 0 && options === undefined && !this.isLocal) {
      try {
        this.post("put", [item]);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    return this.waitOp("put", options, [item]) as Promise<void>;
  }

  /** Puts an item if there is room now; rejects with `QueueFull` otherwise. @example `await q.putNowait(1);` */
  putNowait(item: T): Promise<void> {
    return this.waitOp("put", { timeout: 0 }, [item]) as Promise<void>;
  }

  /**
   * Takes the next item, waiting while the queue is empty. Rejects with `QueueEmpty` if `timeout` ran out,
   * `QueueShutDown` once shut down and drained, `signal.reason` on abort (an item whose reply raced the abort
   * is still returned, so no item is lost).
   *
   * @example
   * ```ts
   * const job = await q.get({ timeout: 1000 });
   * ```
   */
  get(options?: WaitOptions): Promise<T> {
    return this.waitOp("get", options) as Promise<T>;
  }

  /** Takes an item if there is one now; rejects with `QueueEmpty` otherwise. @example `await q.getNowait();` */
  getNowait(): Promise<T> {
    return this.waitOp("get", { timeout: 0 }) as Promise<T>;
  }

  /** Items in the queue now (a snapshot: other processes move on). @example `await q.qsize();` */
  async qsize(): Promise<number> {
    return ((await this.call("state", [])) as { qsize: number }).qsize;
  }

  /** True if the queue holds no item now. @example `if (await q.empty()) break;` */
  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  /** True if a bounded queue is at its limit now. @example `await q.full();` */
  async full(): Promise<boolean> {
    return this.maxsize > 0 && (await this.qsize()) >= this.maxsize;
  }

  /**
   * Shuts the queue down: puts fail with `QueueShutDown`, gets drain what is left and then fail; with
   * `immediate`, the items are dropped at once (Python 3.13's `Queue.shutdown`).
   *
   * @example
   * ```ts
   * await q.shutdown();
   * ```
   */
  shutdown(immediate = false): Promise<void> {
    return this.call("shutdown", [immediate]) as Promise<void>;
  }

  /**
   * Takes items until the queue is shut down and drained.
   *
   * @example
   * ```ts
   * for await (const item of q) console.log(item);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      try {
        yield await this.get();
      } catch (error) {
        if ((error as { code?: string }).code === "E_QUEUE_SHUT_DOWN") return;
        throw error;
      }
    }
  }
}

/**
 * A Queue whose consumers report each item done with `taskDone()`, so that a producer can `join()` until
 * everything put has been processed.
 *
 * A consumer that dies after `get()` and before `taskDone()` leaves its item unfinished: `join()` then waits
 * until its timeout (as Python's would wait for ever); give it one.
 *
 * @example
 * ```ts
 * const q = new JoinableQueue<number>();
 * for (let i = 0; i < 10; i++) await q.put(i);
 * await q.join({ timeout: 10_000 }); // every item taken and done
 * ```
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** Marks one taken item done; rejects with `TooManyTaskDoneError` past the items put. @example `await q.taskDone();` */
  taskDone(): Promise<void> {
    return this.call("taskDone", []) as Promise<void>;
  }

  /**
   * Waits until every item put has been marked done: `true`, or `false` if `timeout` ran out.
   *
   * @example
   * ```ts
   * await q.join();
   * ```
   */
  join(options?: WaitOptions): Promise<boolean> {
    return this.waitOp("join", options) as Promise<boolean>;
  }
}

registerHandle("Queue", Queue);
registerHandle("JoinableQueue", JoinableQueue);
