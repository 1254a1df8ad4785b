/**
 * PriorityQueue: lowest item first, FIFO among equals, Python's `queue.PriorityQueue` with a comparator.
 */
import { Queue, type QueueOptions } from "./queue.js";

/** Options of {@link PriorityQueue}. */
export interface PriorityQueueOptions<T> extends QueueOptions {
  /**
   * Orders items: negative when `a` comes first. Default: `<` on the items themselves (numbers, strings, bigints).
   */
  compare?: ((a: T, b: T) => number) | undefined;
}

interface Entry<T> {
  item: T;
  seq: number;
}

function defaultCompare<T>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A {@link Queue} that returns the lowest item first according to `compare`; items that compare equal come out in
 * the order they were put (a sequence number breaks ties, so the heap is stable). Same waiting, fairness and
 * shutdown rules as Queue.
 *
 * @example
 * ```ts
 * const jobs = new PriorityQueue<{ priority: number; name: string }>({ compare: (a, b) => a.priority - b.priority });
 * jobs.putNowait({ priority: 5, name: "later" });
 * jobs.putNowait({ priority: 1, name: "urgent" });
 * jobs.getNowait().name; // "urgent"
 * ```
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  readonly #heap: Entry<T>[] = [];
  readonly #compare: (a: T, b: T) => number;
  #seq = 0;

  constructor(options: PriorityQueueOptions<T> = {}) {
    super(options);
    if (options.compare !== undefined && typeof options.compare !== "function") {
      throw new TypeError("options.compare must be a function");
    }
    this.#compare = options.compare ?? defaultCompare;
  }

  protected override _qsize(): number {
    return this.#heap.length;
  }

  protected override _put(item: T): void {
    const heap = this.#heap;
    heap.push({ item, seq: this.#seq++ });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  protected override _get(): T {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.#less(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.#less(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top.item;
  }

  #less(a: Entry<T>, b: Entry<T>): boolean {
    const order = this.#compare(a.item, b.item);
    return order < 0 || (order === 0 && a.seq < b.seq);
  }
}
