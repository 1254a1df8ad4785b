import type { Writable } from "node:stream";

/** Corks waiting for the end of the current tick; one nextTick uncorks them all. */
let pending: TickCork[] = [];

function uncorkPending(): void {
  const corks = pending;
  pending = [];
  for (const cork of corks) cork.release();
}

/**
 * Holds a stream corked until the current tick ends, so that what several handlers write to it in one tick (the
 * messages one input fans out to a connection) leaves in one write. `cork()` is idempotent within a tick.
 *
 * @example
 * ```ts
 * const cork = new TickCork(socket);
 * cork.cork(); socket.write(a);
 * cork.cork(); socket.write(b); // a and b leave together once the tick ends
 * ```
 */
export class TickCork {
  #stream: Writable;
  #corked = false;

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  /** Corks the stream until the end of the current tick, unless it already is. */
  cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#stream.cork();
    pending.push(this);
    if (pending.length === 1) process.nextTick(uncorkPending);
  }

  /** Ends the cork now (called at the end of the tick). */
  release(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#stream.uncork();
  }
}
