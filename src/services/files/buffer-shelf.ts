/**
 * Buffers of a few sizes kept for reuse: the small files of a `put -r` are read into them, and each goes back on
 * the shelf once the server has answered its request (so the socket no longer holds its bytes).
 *
 * A fresh buffer per file is fresh memory: V8 frees a dead Buffer's memory only at a later garbage collection,
 * which it starts after tens of MiB of them, so malloc keeps taking new pages, and the kernel faults each one in
 * on the first read into it. Measured on a first `put -r` of 10,000 files of 4-64 KiB (351 MiB): 23,000 page
 * faults in the client, a third of them in those reads; a page fault costs about 11 us on these VMs (issue 15).
 *
 * Sizes go up in powers of two from 4 KiB; at most `maxFreeBytes` wait on the shelf, the rest are left to the
 * garbage collector.
 *
 * @example
 * ```ts
 * const shelf = new BufferShelf(4 * 1024 * 1024);
 * const bytes = shelf.take(5000); // 5000 bytes of an 8 KiB buffer
 * shelf.give(bytes); // once nothing reads it any more
 * ```
 */
export class BufferShelf {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #mine = new WeakSet<ArrayBuffer>();
  readonly #maxFreeBytes: number;
  #freeBytes = 0;

  constructor(maxFreeBytes: number) {
    this.#maxFreeBytes = maxFreeBytes;
  }

  /** Bytes waiting on the shelf. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** The first `length` bytes of a buffer nobody else holds: one from the shelf when there is one of its size. */
  take(length: number): Buffer {
    const size = BufferShelf.sizeFor(length);
    const buffer = this.#free.get(size)?.pop();
    if (buffer !== undefined) {
      this.#freeBytes -= size;
      this.#mine.add(buffer);
      return Buffer.from(buffer, 0, length);
    }
    const made = Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
    this.#mine.add(made);
    return Buffer.from(made, 0, length);
  }

  /** Puts a buffer of {@link take}'s back, once nothing reads it any more; anything else is ignored. */
  give(bytes: Uint8Array): void {
    const buffer = bytes.buffer as ArrayBuffer;
    if (!this.#mine.has(buffer) || this.#freeBytes + buffer.byteLength > this.#maxFreeBytes) return;
    // A buffer given twice would be handed out twice: it is taken off the list of this shelf's until taken again.
    this.#mine.delete(buffer);
    this.#freeBytes += buffer.byteLength;
    const list = this.#free.get(buffer.byteLength);
    if (list === undefined) this.#free.set(buffer.byteLength, [buffer]);
    else list.push(buffer);
  }

  /** The size of the buffer that holds `length` bytes: the power of two at or above it, at least 4 KiB. */
  static sizeFor(length: number): number {
    let size = 4096;
    while (size < length) size *= 2;
    return size;
  }
}
