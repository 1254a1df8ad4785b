/**
 * Small frames gathered into one buffer, to be written with one `write()`: the replies a connection produces
 * while it decodes one chunk of pipelined requests. Without it each reply is a buffer of its own (an allocation)
 * and a `write()` of its own (the stream's per-write bookkeeping, then one iovec each in the writev): measured on
 * 32 pipelined 64-byte pings a chunk, that was a quarter of the request path.
 *
 * Batches are cut from slabs shared by every connection of the process, like Node's own Buffer pool: a batch is
 * a contiguous run of a slab, taken as one view. Bytes already taken are never written again; a slab is dropped
 * (and freed once its views are written) when it is full. A batch that cannot grow where it is (its slab is full,
 * or a handler wrote to a second connection while the first was batching, and that batch took the bytes after
 * it) is copied to the free end of the current slab, so batches never interleave and a batch under a slab's
 * size always leaves in one write.
 *
 * @module
 */

/**
 * Bytes of one slab. Views of a slab keep all of it alive until they are written, so this is also what a peer
 * that stops reading can pin beyond its own replies (which the writer's high-water mark bounds).
 */
const SLAB_SIZE = 32 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
/** Bytes of `slab` handed out so far. */
let used = 0;

/**
 * One writer's batch of bytes.
 *
 * @example
 * ```ts
 * const batch = new ByteBatch();
 * for (const frame of frames) {
 *   if (!batch.reserve(frame.length)) {
 *     socket.write(batch.take()!); // it could not grow: write what it holds, then begin anew
 *     batch.reserve(frame.length);
 *   }
 *   batch.buffer.set(frame, batch.at);
 *   batch.commit(batch.at + frame.length);
 * }
 * const rest = batch.take();
 * if (rest !== null) socket.write(rest);
 * ```
 */
export class ByteBatch {
  #slab: Buffer = slab;
  #start = 0;
  #end = 0;

  /** The buffer the next bytes go into, at {@link at}: valid after `reserve()` returned true. */
  get buffer(): Buffer {
    return this.#slab;
  }

  /** Where in {@link buffer} the next bytes go. */
  get at(): number {
    return this.#end;
  }

  /**
   * Makes room for `n` more bytes at {@link at}, moving the batch if it must. False only when a non-empty batch
   * plus `n` would outgrow a slab: take() it, then reserve again, which an empty batch never refuses.
   */
  reserve(n: number): boolean {
    if (this.#end > this.#start) {
      if (this.#slab === slab && this.#end === used && used + n <= slab.length) return true;
      return this.#move(n);
    }
    if (used + n > slab.length) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, n));
      used = 0;
    }
    this.#slab = slab;
    this.#start = used;
    this.#end = used;
    return true;
  }

  /**
   * The batch cannot grow where it is (its slab is full, or another batch took the bytes after it): copies what it
   * holds to the free end of the current slab (a new one if that has no room), so that it still leaves in one
   * write. At most a slab's worth is copied, once per slab filled. False when the batch and `n` outgrow a slab.
   */
  #move(n: number): boolean {
    const length = this.#end - this.#start;
    if (length + n > SLAB_SIZE) return false;
    if (used + length + n > slab.length) {
      slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      used = 0;
    }
    this.#slab.copy(slab, used, this.#start, this.#end);
    this.#slab = slab;
    this.#start = used;
    this.#end = used + length;
    used = this.#end;
    return true;
  }

  /** Marks the bytes up to `end` (of what `reserve()` made room for) as written. */
  commit(end: number): void {
    this.#end = end;
    used = end;
  }

  /** The batched bytes as one view, or null when there are none; the batch is empty after. */
  take(): Buffer | null {
    if (this.#end === this.#start) return null;
    const view = this.#slab.subarray(this.#start, this.#end);
    this.#start = this.#end;
    return view;
  }
}
