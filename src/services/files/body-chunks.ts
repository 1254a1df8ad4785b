import type { Readable } from "node:stream";

/** Chunks a {@link bodyChunks} reader takes from its stream before it pauses it (about 1 MiB of 64 KiB chunks). */
const QUEUED_CHUNKS = 16;

/**
 * The chunks of a streamed body as they were pushed (a socket's 64 KiB reads), never joined, for a `for await`
 * loop. A Readable's own async iterator reads in paused mode, where `read()` returns everything buffered as one
 * Buffer: with the 1 MiB a body may buffer (issue 15), that is a Buffer.concat, a copy of most of the bytes of a
 * transfer. In flowing mode a Readable hands over each chunk as it is. The stream is paused while the loop has
 * QUEUED_CHUNKS chunks it has not taken, so backpressure reaches the connection as before.
 *
 * Ending the loop early (break, throw) destroys the stream, as the Readable's own iterator does; an error of the
 * stream, or its close before its end, rejects the loop.
 *
 * @example
 * ```ts
 * for await (const chunk of bodyChunks(body)) writer.write(chunk);
 * ```
 */
export async function* bodyChunks(body: Readable): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let head = 0;
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length - head >= QUEUED_CHUNKS) body.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (err: unknown): void => {
    failure ??= err;
    notify();
  };
  const onClose = (): void => {
    if (!ended) failure ??= Object.assign(new Error("the body closed before its end"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
    notify();
  };
  body.on("data", onData);
  body.on("end", onEnd);
  body.on("error", onError);
  body.on("close", onClose);
  try {
    for (;;) {
      while (head < queue.length) {
        const chunk = queue[head];
        head += 1;
        yield chunk;
      }
      queue.length = 0;
      head = 0;
      if (failure !== null) throw failure;
      if (ended) return;
      if (body.isPaused()) body.resume();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    body.off("data", onData);
    body.off("end", onEnd);
    body.off("error", onError);
    body.off("close", onClose);
    if (!ended && !body.destroyed) body.destroy();
  }
}
