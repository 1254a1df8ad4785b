/**
 * Start flags: one Int32 per task a ThreadPoolExecutor has handed to piscina ahead of time, shared with its
 * workers. The worker claims a task (QUEUED -> STARTED) before running it; `Future.cancel()` takes it back
 * (QUEUED -> CANCELLED) if no worker has, and the worker then skips it. One compare-and-swap decides, so a task is
 * either run or cancelled, never both, and `cancel()` stays exact although piscina already holds the task.
 */
import type { StartProbe } from "./future.js";

export const QUEUED = 1;
export const STARTED = 2;
export const CANCELLED = 3;

/** A fixed set of flag slots, reused as tasks complete. */
export class StartFlags {
  readonly buffer: SharedArrayBuffer;
  readonly #flags: Int32Array;
  readonly #free: number[];

  constructor(size: number) {
    this.buffer = new SharedArrayBuffer(size * 4);
    this.#flags = new Int32Array(this.buffer);
    this.#free = Array.from({ length: size }, (_, i) => size - 1 - i);
  }

  /** Takes a free slot and marks it queued; the caller must `free()` it once the task's outcome arrived. */
  take(): number {
    const slot = this.#free.pop();
    if (slot === undefined) throw new Error("no free start flag: more tasks in flight than the dispatch window");
    Atomics.store(this.#flags, slot, QUEUED);
    return slot;
  }

  free(slot: number): void {
    this.#free.push(slot);
  }

  /** The probe a pending future uses for `cancel()` and `running()`. */
  probe(slot: number): StartProbe {
    const flags = this.#flags;
    return {
      claim: () => Atomics.compareExchange(flags, slot, QUEUED, CANCELLED) === QUEUED,
      started: () => Atomics.load(flags, slot) === STARTED,
    };
  }
}
