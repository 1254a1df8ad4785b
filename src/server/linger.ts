import type { Duplex } from "node:stream";

/** How long a closing connection keeps reading (and discarding) so that its last frame is not lost to a reset. */
const LINGER_MS = 2_000;

/**
 * How long a closing connection waits for a slow peer to take what was written before its last frame (a slow
 * chat member's backlog, then the fatal error frame): cutting it sooner would end the stream inside a frame.
 * Nothing more is written meanwhile, so what it holds is bounded by what was already queued.
 */
const FLUSH_DEADLINE_MS = 15_000;

/**
 * Destroys a socket whose end was already written, without losing its last frame. It keeps reading until the
 * peer closes, so unread input does not turn the close into a reset that could destroy the frame in flight.
 * Once everything written has reached the kernel ('finish'), the peer has LINGER_MS to close; a peer that does
 * not even take what was written is cut after FLUSH_DEADLINE_MS.
 *
 * @example
 * ```ts
 * socket.end(errorFrame(null, error, true));
 * lingerThenDestroy(socket);
 * ```
 */
export function lingerThenDestroy(socket: Duplex): void {
  socket.resume();
  const deadline = setTimeout(() => socket.destroy(), FLUSH_DEADLINE_MS).unref();
  const flushed = (): void => {
    clearTimeout(deadline);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  if (socket.writableFinished) flushed();
  else socket.once("finish", flushed);
}
