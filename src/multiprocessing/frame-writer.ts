/**
 * Writes the frames of one socket that are produced in one tick as a single `write()` of a single buffer, at the
 * end of the tick. Replaces `cork()` + `uncork()` on a later tick, which reached the same one syscall but through
 * the Writable's buffering (a request object per frame, then a `writev` of every part): measured with a CPU
 * profile of Pipe round trips, that machinery was a few microseconds a frame on each side, next to a JSON header
 * that costs under one.
 */
import type { Socket } from "node:net";

/** Above this many bytes a batch is written part by part instead of copied into one buffer. */
const COPY_LIMIT = 64 * 1024;

/** The batching writer of one socket. */
export class FrameWriter {
  readonly #socket: Socket;
  #parts: Buffer[] = [];
  #bytes = 0;
  #queued = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Queues the parts of one frame; they leave with the rest of this tick's frames. */
  write(parts: Buffer[]): void {
    for (const part of parts) {
      this.#parts.push(part);
      this.#bytes += part.length;
    }
    if (!this.#queued) {
      this.#queued = true;
      process.nextTick(this.#flush);
    }
  }

  /** Writes what is queued now, then ends the socket. */
  end(): void {
    this.#flush();
    this.#socket.end();
  }

  readonly #flush = (): void => {
    const parts = this.#parts;
    const bytes = this.#bytes;
    this.#parts = [];
    this.#bytes = 0;
    this.#queued = false;
    const socket = this.#socket;
    if (socket.destroyed || parts.length === 0) return;
    if (parts.length === 1) {
      socket.write(parts[0]!);
    } else if (bytes <= COPY_LIMIT) {
      socket.write(Buffer.concat(parts, bytes));
    } else {
      socket.cork();
      for (const part of parts) socket.write(part);
      socket.uncork();
    }
  };
}
