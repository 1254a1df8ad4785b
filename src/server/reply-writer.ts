import type { Duplex, Readable } from "node:stream";
import type { Logger } from "pino";
import { ErrorCode, StreamedBodyFailedAfterEnd, WharfError, type FrameWriter, type StreamedBody, type WireErrorBody } from "../wire/index.js";
import type { RequestContext } from "./context.js";
import { errorFrame, toWireError } from "./reply.js";
import type { ReplyInit } from "./router.js";

const EMPTY_BODY = Buffer.alloc(0);

/** What a {@link ReplyWriter} tells the connection it writes for. */
export interface ReplyWriterHost {
  readonly logger: Logger;
  /** A streamed reply body started: its request stays pending until {@link streamWritten}. */
  streamStarted(): void;
  /** A streamed reply body was written to its end. */
  streamWritten(): void;
  /**
   * A streamed reply body failed, so the connection must go: `whole` when only after its last byte (the frame is
   * whole, an error frame may still follow it), else mid-frame (the frame's boundary is lost: nothing may follow).
   */
  streamFailed(whole: boolean): void;
}

/**
 * How the replies of one stream connection are written: the commonest (ok, no fields, a small body) through the
 * writer's batch; fields and a body as one frame; a streamed body after its header, holding the stream until
 * its last byte; an error frame when the reply cannot be encoded; and a request's intermediate frames, which wait
 * for the peer to read when it is slow.
 *
 * @example
 * ```ts
 * const replies = new ReplyWriter(frameWriter, socket, host);
 * replies.write(ctx, { header: { size: 3 } }, undefined);
 * ```
 */
export class ReplyWriter {
  readonly #writer: FrameWriter;
  readonly #socket: Duplex;
  readonly #host: ReplyWriterHost;

  constructor(writer: FrameWriter, socket: Duplex, host: ReplyWriterHost) {
    this.#writer = writer;
    this.#socket = socket;
    this.#host = host;
  }

  /** The last frame of a request: its reply, or `error` when set. */
  write(ctx: RequestContext, reply: ReplyInit | undefined, error: WireErrorBody | undefined): void {
    if (error !== undefined) {
      this.#writer.write([errorFrame(ctx.id, error)]);
      return;
    }
    const fields = reply?.header;
    const body = reply?.body;
    if (fields === undefined && (body === undefined || body instanceof Uint8Array)) {
      this.#writer.writeOkReply(ctx.id, body ?? EMPTY_BODY);
      return;
    }
    const header = fields === undefined ? { id: ctx.id, ok: true } : { ...fields, id: ctx.id, ok: true };
    if (body !== undefined && !(body instanceof Uint8Array)) {
      this.#writeStreamed(ctx, header, body);
      return;
    }
    try {
      this.#writer.writeFrame(header, body);
    } catch (err) {
      this.#writer.write([errorFrame(ctx.id, toWireError(err, this.#host.logger, { id: ctx.id, type: ctx.type }))]);
    }
  }

  /** An intermediate frame of a request (`more: true`); resolves when the socket can take more. */
  partial(ctx: RequestContext, fields: Record<string, unknown>, body: Uint8Array | undefined): Promise<void> {
    try {
      this.#writer.writeFrame({ ...fields, id: ctx.id, ok: true, more: true }, body);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.#writer.blocked) return Promise.resolve();
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      const done = (): void => {
        socket.off("drain", done);
        socket.off("close", done);
        if (ctx.aborted || socket.destroyed) reject(new WharfError(ErrorCode.CONNECTION_CLOSED, "the connection closed"));
        else resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
    });
  }

  /** Writes a reply whose body comes from a stream; frames written meanwhile wait behind it. */
  #writeStreamed(ctx: RequestContext, header: Record<string, unknown>, body: StreamedBody): void {
    this.#host.streamStarted();
    this.#writer.writeStreamed(header, body).then(
      () => this.#host.streamWritten(),
      (err: unknown) => {
        this.#host.logger.warn({ err, id: ctx.id, type: ctx.type }, "streamed reply body failed; closing the connection");
        destroySource(body);
        this.#host.streamFailed(err instanceof StreamedBodyFailedAfterEnd);
      },
    );
  }
}

/** Stops the source of a streamed reply body that will not be sent. */
export function destroySource(body: StreamedBody): void {
  const stream = body.stream as Partial<Readable>;
  if (typeof stream.destroy === "function") stream.destroy();
}
