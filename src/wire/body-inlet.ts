import { Readable } from "node:stream";

/**
 * Bytes of a streamed body held for its reader before the connection stops reading. A socket delivers 64 KiB
 * chunks: with Readable's default 16 KiB mark every chunk would pause the socket and the reader's next read
 * resume it (issue 15: a 256 MiB put paused 4,097 times). 1 MiB, as the FrameWriter's own mark.
 */
export const STREAMED_BODY_HIGH_WATER = 1024 * 1024;

/**
 * Takes a streamed body's bytes as the connection reads them, with no Readable between: the fast way to land a
 * body in a file ({@link IncomingBody.drainInto}).
 */
export interface BodySink {
  /**
   * A piece of the body, valid only during the call: the connection may read its next bytes into the same memory,
   * so what is kept must be copied. A returned promise holds the connection's reads until it settles (the pieces
   * of the read in progress still come); a rejection, or a throw, fails the body.
   */
  write(chunk: Buffer): void | Promise<void>;
}

interface Drain {
  sink: BodySink;
  /** Promises the sink returned that have not settled. */
  waiting: number;
  /** Resolved: every byte was given and every wait settled. */
  done: boolean;
  resolve(): void;
  reject(reason: unknown): void;
}

/**
 * A streamed body as its reader gets it: a Readable (with backpressure to the connection), or, with
 * {@link drainInto}, pieces handed to a {@link BodySink} as they are read, without a copy or a Readable's queue.
 */
export class IncomingBody extends Readable {
  #setBlocked: (blocked: boolean) => void;
  #drain: Drain | null = null;
  /** Every byte of the body was delivered. */
  #complete = false;

  /** @internal A connection's BodyInlet makes these; `setBlocked` stops and restarts its reads. */
  constructor(setBlocked: (blocked: boolean) => void) {
    super({ highWaterMark: STREAMED_BODY_HIGH_WATER });
    this.#setBlocked = setBlocked;
    // A reader that destroys its body takes no more of it: the connection reads on (and drops the rest).
    this.once("close", () => setBlocked(false));
  }

  /** The Readable's reader wants more: the connection may read again (a sink's waits decide, when draining). */
  override _read(): void {
    if (this.#drain === null) this.#setBlocked(false);
  }

  /** A body that arrived whole (a buffered reply to a streamed request). */
  static of(bytes: Buffer): IncomingBody {
    const body = new IncomingBody(() => {});
    body.deliver(bytes, false);
    body.complete();
    return body;
  }

  /**
   * Hands the body to `sink` instead of reading it as a Readable: what arrived before is given first, then each
   * piece as the connection reads it. Resolves once the whole body was given and every promise the sink returned
   * has settled; rejects when the sink fails, the connection closes first, or `signal` aborts (the body is then
   * destroyed). Call it once, and do not read the body otherwise.
   *
   * @example
   * ```ts
   * const { body } = await conn.requestStream("files.get", { path: "big.img" });
   * let bytes = 0;
   * await body.drainInto({ write: (chunk) => void (bytes += chunk.length) });
   * ```
   */
  drainInto(sink: BodySink, signal?: AbortSignal): Promise<void> {
    if (this.#drain !== null || this.readableDidRead || this.readableFlowing !== null) return Promise.reject(new Error("the body is being read already"));
    if (this.destroyed) return Promise.reject(this.errored ?? new Error("the body was destroyed before its end"));
    return new Promise<void>((resolve, reject) => {
      const drain: Drain = { sink, waiting: 0, done: false, resolve, reject };
      this.#drain = drain;
      this.on("error", () => {}); // its failure is the promise's
      const onAbort = (): void => void this.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.once("close", () => {
        signal?.removeEventListener("abort", onAbort);
        // Destroyed by a failure (the sink's, the connection's, an abort), even one after the last byte came.
        if (!drain.done) reject(this.errored ?? new Error("the body was destroyed before its end"));
      });
      if (signal?.aborted) return onAbort();
      // What arrived before, as the Readable holds it; read all of it before the sink can ask to wait.
      const held: Buffer[] = [];
      for (let chunk: Buffer | null; (chunk = this.read() as Buffer | null) !== null; ) held.push(chunk);
      for (const chunk of held) this.#give(drain, chunk);
      if (drain.waiting === 0) this.#setBlocked(false); // the Readable's queue, full or not, is empty now
      this.#settleIfDone(drain);
    });
  }

  /** @internal The next piece, from the connection; `transient` when it is valid only during this call. */
  deliver(chunk: Buffer, transient: boolean): void {
    if (this.destroyed) return;
    if (this.#drain !== null) this.#give(this.#drain, chunk);
    else if (!this.push(transient ? Buffer.from(chunk) : chunk)) this.#setBlocked(true);
  }

  /** @internal Every byte was delivered. */
  complete(): void {
    this.#complete = true;
    if (this.destroyed) return;
    if (this.#drain !== null) this.#settleIfDone(this.#drain);
    else this.push(null);
  }

  #give(drain: Drain, chunk: Buffer): void {
    if (this.destroyed) return; // a piece after a failure is dropped
    let wait: void | Promise<void>;
    try {
      wait = drain.sink.write(chunk);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (wait === undefined) return;
    drain.waiting += 1;
    this.#setBlocked(true);
    wait.then(
      () => {
        drain.waiting -= 1;
        if (drain.waiting > 0 || this.destroyed) return;
        this.#setBlocked(false);
        this.#settleIfDone(drain);
      },
      (err: unknown) => void this.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  }

  #settleIfDone(drain: Drain): void {
    if (!this.#complete || drain.waiting > 0 || this.destroyed) return;
    drain.done = true;
    drain.resolve();
    this.destroy(); // 'close' now finds it complete
  }
}

/**
 * The streamed body of the frame a connection is receiving (FrameDecoder's onBodyStart, onBodyChunk, onBodyEnd),
 * as a {@link IncomingBody} its reader consumes. When the reader falls behind by more than
 * {@link STREAMED_BODY_HIGH_WATER} (or a sink asks to wait), `onBlocked(true)` tells the connection to stop
 * reading, and `onBlocked(false)` once the reader catches up or the body ends. A body its reader destroyed takes
 * no more chunks: they are dropped, and never block the connection. Serves both ends: the server's request
 * bodies and the client's reply bodies.
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
  #body: IncomingBody | null = null;
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

  /** Begins a body and returns what its reader gets. */
  start(): IncomingBody {
    const body: IncomingBody = new IncomingBody((blocked) => {
      // A body that ended (or was dropped) no longer holds back the connection's next one.
      if (body === this.#body) this.#setBlocked(blocked);
    });
    this.#body = body;
    return body;
  }

  /** Hands the reader the next piece of the body; `transient` when the chunk is valid only during this call. */
  push(chunk: Buffer, transient = false): void {
    this.#body?.deliver(chunk, transient);
  }

  /**
   * The body is complete. An ended Readable never calls read() again, so a block for its last chunk is lifted
   * here, or the connection would stop reading for good.
   */
  end(): void {
    this.#body?.complete();
    this.#body = null;
    this.#setBlocked(false);
  }

  /** The body will not be completed (the connection closed or failed): its reader gets `reason`. */
  destroy(reason: Error): void {
    this.#body?.destroy(reason);
    this.#body = null;
  }

  #setBlocked(blocked: boolean): void {
    if (blocked === this.#blocked) return;
    this.#blocked = blocked;
    this.#onBlocked(blocked);
  }
}
