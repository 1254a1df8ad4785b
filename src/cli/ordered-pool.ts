/**
 * Runs the transfers of `put -r` and `get -r` several at a time over one connection, while their output keeps
 * the order of the walk. A tree of small files is bound by round trips and the server's file-system calls, not
 * by bandwidth: one file at a time left both ends idle most of the time (1,000 files of 4-64 KiB: 20 s, with
 * both processes idle over 70% of it). Requests are pipelined on the connection, so N transfers in flight hide
 * N-1 waits.
 *
 * A task takes `weight` of the pool's `limit` (default 1): a tree's small files, one request each, go many at
 * a time, while a large one, a streamed upload that holds memory and a lock on the server, takes more room.
 *
 * Each task resolves to what it has to print; that runs once every task submitted before it has printed. After a
 * failure no new task starts, the ones running finish, and `drain()` rethrows the first error (what finished
 * before it in walk order is still printed).
 *
 * @example
 * ```ts
 * const pool = new OrderedPool(8);
 * for (const file of files) await pool.submit(async () => { const r = await put(file); return () => print(r); });
 * await pool.drain();
 * ```
 */
export class OrderedPool {
  readonly #limit: number;
  #running = new Set<Promise<void>>();
  /** The weight of the tasks running. */
  #load = 0;
  /** What finished tasks have to print, by submission index, until every earlier task has printed. */
  #done = new Map<number, () => void>();
  #next = 0;
  #printed = 0;
  #failure: { error: unknown; index: number } | null = null;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /**
   * Starts `task` once the running tasks' weights and `weight` (at most the limit) fit in the limit; rejects at once
   * with the first failure, once there was one.
   */
  async submit(task: () => Promise<() => void>, weight = 1): Promise<void> {
    const taken = Math.min(Math.max(weight, 1), this.#limit);
    while (this.#load + taken > this.#limit && this.#failure === null) await Promise.race(this.#running);
    if (this.#failure !== null) throw this.#failure.error;
    const index = this.#next++;
    this.#load += taken;
    const run = task().then(
      (print) => this.#finished(index, print),
      (error: unknown) => {
        if (this.#failure === null || index < this.#failure.index) this.#failure = { error, index };
        this.#finished(index, () => {});
      },
    );
    const tracked = run.finally(() => {
      this.#running.delete(tracked);
      this.#load -= taken;
    });
    this.#running.add(tracked);
  }

  /** Waits for every task; rethrows the first failure (in walk order). */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    if (this.#failure !== null) throw this.#failure.error;
  }

  #finished(index: number, print: () => void): void {
    this.#done.set(index, print);
    while (this.#done.has(this.#printed)) {
      const next = this.#done.get(this.#printed)!;
      this.#done.delete(this.#printed);
      // Nothing after the first failure is printed: the run stops there.
      if (this.#failure === null || this.#printed < this.#failure.index) next();
      this.#printed += 1;
    }
  }
}
