/**
 * A few buffers of one size that a file's chunks are read into, again and again, instead of a fresh buffer per
 * chunk: a fresh 1 MiB buffer is fresh memory, and faulting its pages in cost more system time than the read
 * itself (measured on tmpfs: 1 GiB read in 1 MiB steps took 290-440 ms of system time into fresh buffers,
 * 200 ms into two reused ones), plus the garbage collections that free them (issue 15).
 *
 * A chunk goes back with {@link ChunkPool.give} once nothing needs its bytes any more: the frame writer gives a
 * chunk of a streamed body back when the socket took it (`release` of a StreamedBody). {@link ChunkPool.take}
 * waits for one when all are out, which bounds the memory a transfer holds.
 *
 * @example
 * ```ts
 * const pool = new ChunkPool(1024 * 1024, 4);
 * const chunk = await pool.take(4096); // 4096 bytes of a 1 MiB buffer
 * pool.give(chunk);
 * ```
 */
export class ChunkPool {
  readonly #size: number;
  readonly #max: number;
  readonly #free: ArrayBuffer[] = [];
  readonly #mine = new WeakSet<ArrayBuffer>();
  readonly #waiting: ((buffer: ArrayBuffer) => void)[] = [];
  #made = 0;

  /** Up to `max` buffers of `size` bytes, made when first needed. */
  constructor(size: number, max: number) {
    this.#size = size;
    this.#max = max;
  }

  /** The first `length` (at most the pool's size) bytes of a buffer nobody else holds. */
  take(length: number): Promise<Buffer> {
    if (length > this.#size) return Promise.reject(new RangeError(`a chunk of ${length} bytes is larger than the pool's ${this.#size}`));
    const free = this.#free.pop();
    if (free !== undefined) return Promise.resolve(Buffer.from(free, 0, length));
    if (this.#made < this.#max) {
      this.#made += 1;
      const buffer = Buffer.allocUnsafeSlow(this.#size).buffer as ArrayBuffer;
      this.#mine.add(buffer);
      return Promise.resolve(Buffer.from(buffer, 0, length));
    }
    return new Promise((resolve) => this.#waiting.push((buffer) => resolve(Buffer.from(buffer, 0, length))));
  }

  /** Takes back a chunk of {@link take}'s, once nothing reads it any more; anything else is ignored. */
  readonly give = (chunk: Uint8Array): void => {
    const buffer = chunk.buffer as ArrayBuffer;
    if (!this.#mine.has(buffer)) return;
    const next = this.#waiting.shift();
    if (next !== undefined) next(buffer);
    else this.#free.push(buffer);
  };
}
