/**
 * The shared memory under a {@link SharedQueue}: a header of Int32 words and a ring of fixed-size byte slots,
 * guarded by a short mutex. Every method here is synchronous and holds the mutex only for a byte copy.
 */
import { QueueShutDown, TooManyTaskDoneError } from "../errors.js";

// Header words. The *_SEQ words only ever grow: a waiter reads one under the mutex, releases it, and sleeps while
// the word still holds that value, so a change made after it looked can never be missed.
const MUTEX = 0;
const HEAD = 1;
const COUNT = 2;
export const UNFINISHED = 3;
const SHUTDOWN = 4;
export const PUT_SEQ = 5; // bumped when an item arrives (getters sleep on it)
export const GET_SEQ = 6; // bumped when a slot frees (putters sleep on it)
export const DONE_SEQ = 7; // bumped when unfinished reaches 0 (join sleeps on it)
const MAXSIZE = 8;
const ITEM_SIZE = 9;
export const HEADER_BYTES = 12 * 4;
const SPINS = 64;

/** Bytes needed for a ring of `maxsize` slots of `itemSize` bytes. */
export function ringBytes(maxsize: number, itemSize: number): number {
  return HEADER_BYTES + maxsize * (4 + itemSize);
}

/** A view of the ring in one thread. */
export class SlotRing {
  readonly words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly maxsize: number;
  readonly itemSize: number;

  /** Views `sab`; with `init`, first writes the layout of a fresh ring. */
  constructor(sab: SharedArrayBuffer, init?: { maxsize: number; itemSize: number }) {
    this.words = new Int32Array(sab, 0, HEADER_BYTES / 4);
    if (init !== undefined) {
      this.words[MAXSIZE] = init.maxsize;
      this.words[ITEM_SIZE] = init.itemSize;
    }
    this.#bytes = new Uint8Array(sab);
    this.#view = new DataView(sab);
    this.maxsize = this.words[MAXSIZE]!;
    this.itemSize = this.words[ITEM_SIZE]!;
    if (sab.byteLength < ringBytes(this.maxsize, this.itemSize)) {
      throw new TypeError("handle.sab is too small for the queue it describes");
    }
  }

  count(): number {
    return Atomics.load(this.words, COUNT);
  }

  isShutdown(): boolean {
    return Atomics.load(this.words, SHUTDOWN) === 1;
  }

  /** Stores `data`; true, or the GET_SEQ value to sleep on while full. Throws QueueShutDown. */
  tryPut(data: Uint8Array): true | number {
    this.#lock();
    try {
      if (this.words[SHUTDOWN] === 1) throw new QueueShutDown();
      const count = this.words[COUNT]!;
      if (count >= this.maxsize) return Atomics.load(this.words, GET_SEQ);
      const offset = this.#slot((this.words[HEAD]! + count) % this.maxsize);
      this.#view.setInt32(offset, data.byteLength, true);
      this.#bytes.set(data, offset + 4);
      Atomics.store(this.words, COUNT, count + 1);
      Atomics.add(this.words, UNFINISHED, 1);
      this.#bump(PUT_SEQ, 1);
      return true;
    } finally {
      this.#unlock();
    }
  }

  /** Copies out the next item, or returns the PUT_SEQ value to sleep on while empty. Throws QueueShutDown. */
  tryGet(): Uint8Array | number {
    this.#lock();
    try {
      const count = this.words[COUNT]!;
      if (count === 0) {
        if (this.words[SHUTDOWN] === 1) throw new QueueShutDown();
        return Atomics.load(this.words, PUT_SEQ);
      }
      const head = this.words[HEAD]!;
      const offset = this.#slot(head);
      const length = this.#view.getInt32(offset, true);
      const data = this.#bytes.slice(offset + 4, offset + 4 + length);
      Atomics.store(this.words, HEAD, (head + 1) % this.maxsize);
      Atomics.store(this.words, COUNT, count - 1);
      this.#bump(GET_SEQ, 1);
      return data;
    } finally {
      this.#unlock();
    }
  }

  /** One item processed; throws TooManyTaskDoneError when nothing is unfinished. */
  taskDone(): void {
    this.#lock();
    try {
      const unfinished = this.words[UNFINISHED]!;
      if (unfinished <= 0) throw new TooManyTaskDoneError();
      Atomics.store(this.words, UNFINISHED, unfinished - 1);
      if (unfinished === 1) this.#bump(DONE_SEQ, Infinity);
    } finally {
      this.#unlock();
    }
  }

  /** Marks the ring shut down (discarding the items when `immediate`) and wakes every sleeper. */
  shutdown(immediate: boolean): void {
    this.#lock();
    try {
      Atomics.store(this.words, SHUTDOWN, 1);
      if (immediate) {
        const unfinished = Math.max(0, this.words[UNFINISHED]! - this.words[COUNT]!);
        Atomics.store(this.words, COUNT, 0);
        Atomics.store(this.words, UNFINISHED, unfinished);
        if (unfinished === 0) this.#bump(DONE_SEQ, Infinity);
      }
      this.#bump(PUT_SEQ, Infinity);
      this.#bump(GET_SEQ, Infinity);
    } finally {
      this.#unlock();
    }
  }

  #slot(index: number): number {
    return HEADER_BYTES + index * (4 + this.itemSize);
  }

  #bump(word: number, wake: number): void {
    Atomics.add(this.words, word, 1);
    Atomics.notify(this.words, word, wake);
  }

  #lock(): void {
    const words = this.words;
    if (Atomics.compareExchange(words, MUTEX, 0, 1) === 0) return;
    for (let i = 0; i < SPINS; i += 1) {
      if (Atomics.load(words, MUTEX) === 0 && Atomics.compareExchange(words, MUTEX, 0, 1) === 0) return;
    }
    // Held for a memcpy at most, so blocking this thread briefly (allowed in Node, even on the main thread) is fine.
    while (Atomics.exchange(words, MUTEX, 2) !== 0) Atomics.wait(words, MUTEX, 2);
  }

  #unlock(): void {
    if (Atomics.exchange(this.words, MUTEX, 0) === 2) Atomics.notify(this.words, MUTEX, 1);
  }
}
