import { Readable } from "node:stream";

/**
 * Bytes of a streamed body held for its reader before the connection stops reading. A socket delivers 64 KiB
 * chunks: with Readable's default 16 KiB mark every chunk would pause the socket and the reader's next read
 * resume it (issue 15: a 256 MiB put paused 4,097 times). 1 MiB, as the FrameWriter's own mark.
 */
export const STREAMED_BODY_HIGH_WATER = 1024 * 1024;

/**
 * The streamed body of the frame a connection is receiving (FrameDecoder's onBodyStart, onBodyChunk, onBodyEnd),
 * as a Readable its reader consumes. When the reader falls behind by more than {@link STREAMED_BODY_HIGH_WATER},
 * `onBlocked(true)` tells the connection to stop reading, and `onBlocked(false)` once the reader catches up or the
 * body ends. A body its reader destroyed takes no more chunks: they are dropped, and never block the connection.
 * Serves both ends: the server's request bodies and the client's reply bodies.
 *
 * @example
 * ```ts
 * const inlet = new BodyInlet((blocked) => (blocked ? socket.pause() : socket.resume()));
 * const decoder = new FrameDecoder({
 *   onHeader: () => "stream",
 *   onBodyStart: () => consume(inlet.start()),
 *   onBodyChunk: (chunk) => inlet.push(chunk),
 *   onBodyEnd: () => inlet.end(),
 *   onFrame: () => {},
 * });
 * ```
 */
export class BodyInlet {
  #onBlocked: (blocked: boolean) => void;
  #body: Readable | null = null;
  #blocked = false;

  constructor(onBlocked: (blocked: boolean) => void) {
    this.#onBlocked = onBlocked;
  }

  /** True between start() and end() or destroy(). */
  get receiving(): boolean {
    return this.#body !== null;
  }

  /** True while the reader is behind and the connection should not read. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Begins a body and returns the Readable its reader gets. */
  start(): Readable {
    const body = new Readable({ highWaterMark: STREAMED_BODY_HIGH_WATER, read: () => this.#unblock() });
    this.#body = body;
    return body;
  }

  /** Hands the reader the next piece of the body. */
  push(chunk: Buffer): void {
    const body = this.#body;
    if (body === null || body.destroyed) return;
    if (!body.push(chunk) && !this.#blocked) {
      this.#blocked = true;
      this.#onBlocked(true);
    }
  }

  /**
   * The body is complete. An ended Readable never calls read() again, so a block for its last chunk is lifted
   * here, or the connection would stop reading for good.
   */
  end(): void {
    this.#body?.push(null);
    this.#body = null;
    this.#unblock();
  }

  /** The body will not be completed (the connection closed or failed): its reader gets `reason`. */
  destroy(reason: Error): void {
    this.#body?.destroy(reason);
    this.#body = null;
  }

  #unblock(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#onBlocked(false);
  }
}
