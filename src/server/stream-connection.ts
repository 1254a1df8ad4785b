import type { Duplex, Readable } from "node:stream";
import type { Logger } from "pino";
import {
  BodyInlet,
  ErrorCode,
  FrameDecoder,
  ProtocolError,
  WharfError,
  assertRequestHeader,
  FrameWriter,
  encodeEvent,
  encodeFrameParts,
  type FrameHeader,
  type RequestHeader,
  type ResolvedFrameLimits,
  type WireErrorBody,
} from "../wire/index.js";
import { readTransient } from "../wire/read-into.js";
import { RequestContext, type ConnectionChannel, type PeerInfo, type ReplySink } from "./context.js";
import type { Dispatcher, RequestSource } from "./dispatcher.js";
import { errorFrame } from "./reply.js";
import { Session } from "./session.js";
import { lingerThenDestroy } from "./linger.js";
import { TickCork } from "./tick-cork.js";
import { InFlightRequests } from "./in-flight.js";
import { destroySource, ReplyWriter } from "./reply-writer.js";
import type { ReplyInit, Route } from "./router.js";

/**
 * Where every served connection of the process reads (each read is handled before the next one happens): 256 KiB,
 * so that a big request body comes in a quarter of the reads a socket's own 64 KiB would take.
 */
const serverReadBuffer = Buffer.allocUnsafeSlow(256 * 1024);

/** @internal What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly limits: ResolvedFrameLimits;
  readonly maxInFlight: number;
  /** A coarse clock (ms), advanced by the server's sweep. */
  readonly now: number;
  connectionClosed(connection: StreamConnection): void;
}

/**
 * The byte stream a connection is served over: a net.Socket (TCP, TLS, Unix) or any Duplex that carries frames
 * the same way (a WebSocket seen through the gateway's WsFrameSocket).
 */
export type StreamSocket = Duplex & { setNoDelay?(noDelay?: boolean): unknown; readonly bytesRead?: number; readonly bytesWritten?: number };

const SHUTTING_DOWN_FATAL = { code: ErrorCode.SHUTTING_DOWN, message: "the server is shutting down; connect again later or to another server" };

/**
 * One client connection over a byte stream (TCP, TLS, a Unix socket, or a WebSocket through the gateway): decodes requests, runs handlers, writes
 * replies, and applies backpressure. Reading pauses while the peer does not read its replies, while too many of
 * its requests are in flight, or while a handler does not consume a streamed body.
 */
export class StreamConnection implements ConnectionChannel, ReplySink, RequestSource {
  readonly id: number;
  readonly streams = true;
  /** @internal (RequestSource) */
  get transport(): string {
    return this.peer.transport;
  }
  readonly peer: PeerInfo;
  readonly socket: StreamSocket;
  #host: ConnectionHost;
  #logger: Logger;
  #decoder: FrameDecoder;
  #session = new Session();
  /** Requests still running after their handlers returned. */
  #inFlight = new InFlightRequests();
  #pending = 0;
  #writeBlocked = false;
  #paused = false;
  #closing = false;
  #lastActivity: number;
  #headerStartedAt = 0;
  /** The streamed request body being received, if any. */
  #body = new BodyInlet(() => this.#updateFlow());
  /** True while the chunk being decoded is valid only during its read callback. */
  #transient = false;
  /** The route of the frame being decoded, from #classify. */
  #route: Route | undefined = undefined;
  #writer: FrameWriter;
  #replies: ReplyWriter;
  /** Holds the socket corked until the tick ends while events are sent. */
  #eventCork: TickCork;

  constructor(id: number, socket: StreamSocket, peer: PeerInfo, host: ConnectionHost) {
    this.id = id;
    this.socket = socket;
    this.peer = peer;
    this.#host = host;
    this.#logger = host.logger.child({ conn: id });
    this.#lastActivity = host.now;
    this.#decoder = new FrameDecoder(
      {
        onHeader: (header) => this.#classify(header),
        onFrame: (header, body) => this.#dispatch(header as RequestHeader, body),
        onBodyStart: (header) => this.#startBody(header as RequestHeader),
        // A handler that gave up on its body (finished or failed) has it resumed, so chunks are dropped, not kept.
        onBodyChunk: (chunk) => this.#body.push(chunk, this.#transient),
        onBodyEnd: () => this.#body.end(),
      },
      host.limits,
    );
    this.#writer = new FrameWriter(socket, {
      maxHeaderSize: host.limits.maxHeaderSize,
      onBackpressure: (blocked) => {
        this.#writeBlocked = blocked;
        this.#updateFlow();
      },
    });
    this.#replies = new ReplyWriter(this.#writer, socket, {
      logger: this.#logger,
      // A request with a streamed body is not settled until its last byte is written.
      streamStarted: () => {
        this.#pending += 1;
      },
      streamWritten: () => {
        this.#pending -= 1;
        this.#lastActivity = this.#host.now;
        this.#updateFlow();
        this.#maybeEndDrained();
      },
      streamFailed: (whole) => {
        this.#pending -= 1;
        // Mid-frame the writer no longer counts as busy, yet no error frame may follow: the peer would take its
        // bytes for the rest of the body.
        this.destroy(new WharfError(ErrorCode.INTERNAL, "streamed reply failed"), { midFrame: !whole });
      },
    });
    this.#eventCork = new TickCork(socket);
    socket.setNoDelay?.(true);
    // Past the Readable stream where it can (a plain socket that has read nothing yet), into one reused buffer:
    // wire/read-into.ts. Only what outlives a read is copied (the decoder's and the body's rules), and a body
    // drained into a sink (IncomingBody.drainInto) not at all.
    readTransient(socket, (chunk, transient) => this.#onData(chunk, transient), serverReadBuffer);
    socket.on("end", () => this.#onEnd());
    socket.on("error", (err) => {
      // The socket is destroyed already; 'close' follows. Nothing more is written to it from here on.
      this.#closing = true;
      this.#logger.debug({ err }, "connection error");
    });
    socket.on("close", () => this.#onClose());
  }

  /** True once the connection is closing or closed. */
  get closed(): boolean {
    return this.#closing || this.socket.destroyed;
  }

  /** Bytes written but not yet taken by the peer. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Sends an event frame (no id). False when closed or over the high-water mark, and when the event cannot be
   * encoded (its header over the limit, or not JSON): that is logged and nothing is sent, since a throw here
   * would land in whatever timer or fan-out called it.
   */
  sendEvent(event: string, fields: Record<string, unknown> = {}, body?: Uint8Array): boolean {
    if (this.closed) return false;
    let parts: Buffer[];
    try {
      parts = encodeEvent(event, fields, body, this.#host.limits.maxHeaderSize);
    } catch (err) {
      this.#logger.error({ err, event }, "an event could not be encoded and was not sent");
      return false;
    }
    return this.sendFrame(parts);
  }

  /**
   * Sends a pre-encoded event frame. False when closed or over the high-water mark. Events are corked until the
   * current tick ends, so that the events one input produces for a connection (a fan-out of several messages)
   * leave in one write.
   */
  sendFrame(parts: Buffer[]): boolean {
    if (this.closed) return false;
    this.#eventCork.cork();
    this.#writer.write(parts);
    this.#lastActivity = this.#host.now;
    return !this.#writer.blocked;
  }

  /** Closes with a fatal error frame. */
  close(error: WharfError): void {
    this.fail(error);
  }

  /** Calls the listener once when the connection closes. */
  onClose(listener: () => void): void {
    if (this.socket.destroyed) queueMicrotask(listener);
    else this.socket.once("close", listener);
  }

  /** @internal An intermediate reply frame of a request; resolves when the socket can take more. */
  sendPartial(ctx: RequestContext, fields: Record<string, unknown>, body: Uint8Array | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new WharfError(ErrorCode.CONNECTION_CLOSED, "the connection closed"));
    this.#lastActivity = this.#host.now;
    return this.#replies.partial(ctx, fields, body);
  }

  /** Requests whose replies are not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /** True while the server has stopped reading from this peer. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Closes the connection with a fatal error frame. */
  fail(error: WharfError, id: number | null = null): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#logger.debug({ code: error.code, msg: error.message }, "closing connection with an error");
    this.#inFlight.abortAll(error);
    // The error frame goes after every whole frame already written (behind a streamed body, if one is being
    // sent), so the peer reads it last and at a frame boundary.
    if (this.socket.writable) this.#writer.end([errorFrame(id, error.toWire(), true)]);
    lingerThenDestroy(this.socket);
  }

  /** Graceful: the connection ends once its in-flight requests are answered. */
  drain(): void {
    this.#maybeEndDrained();
  }

  /**
   * Closes at once, aborting in-flight requests. Between frames (no streamed body holds the socket) the reason
   * goes out first as a fatal error frame, so that a client cut mid-upload by a shutdown learns why
   * (`E_SHUTTING_DOWN`) rather than just seeing the connection drop; inside a streamed body it cannot, nor after
   * one broke off mid-frame (`midFrame`).
   */
  destroy(reason: unknown, options: { midFrame?: boolean } = {}): void {
    const wasClosing = this.#closing;
    this.#closing = true;
    this.#inFlight.abortAll(reason);
    if (!wasClosing && options.midFrame !== true && reason instanceof WharfError && !this.#writer.busy && this.socket.writable) {
      this.socket.end(errorFrame(null, reason.toWire(), true));
      // The frame is small: give it a moment to reach the kernel, never longer.
      setTimeout(() => this.socket.destroy(), 200).unref();
      return;
    }
    this.socket.destroy();
  }

  /** Called by the server's sweep: enforces the idle and header timeouts. */
  checkTimeouts(now: number, idleTimeout: number, headerTimeout: number): void {
    if (this.#closing) return;
    if (headerTimeout > 0 && this.#headerStartedAt > 0 && now - this.#headerStartedAt > headerTimeout) {
      this.fail(new WharfError(ErrorCode.IDLE_TIMEOUT, `a frame header was not completed within ${headerTimeout} ms`));
      return;
    }
    const busy = this.#pending > 0 || this.#body.receiving || this.#writer.busy;
    if (idleTimeout > 0 && !busy && now - this.#lastActivity > idleTimeout) {
      this.fail(new WharfError(ErrorCode.IDLE_TIMEOUT, `the connection was idle for more than ${idleTimeout} ms`));
    }
  }

  #onData(chunk: Buffer, transient: boolean): void {
    this.#lastActivity = this.#host.now;
    if (this.#closing) return;
    // The replies of every request this chunk completes leave together: one buffer, one write (FrameWriter).
    this.#writer.beginBatch();
    const dispatcher = this.#host.dispatcher;
    dispatcher.timing.openInput();
    this.#transient = transient;
    try {
      this.#decoder.push(chunk, transient);
    } catch (err) {
      this.#failOn(err);
    } finally {
      this.#transient = false;
      this.#writer.endBatch();
      dispatcher.timing.closeInput();
    }
    if (this.#decoder.inHeader) {
      if (this.#headerStartedAt === 0) this.#headerStartedAt = this.#host.now;
    } else {
      this.#headerStartedAt = 0;
    }
  }

  #onEnd(): void {
    if (this.#closing) return;
    try {
      this.#decoder.end();
    } catch (err) {
      this.#body.destroy(err as Error);
      this.#failOn(err);
      return;
    }
    // TCP cannot tell a half-close from a client that left, and a client that left must not keep handlers busy
    // (a command running, a file being read): end of input means the client is gone.
    this.#closing = true;
    const reason = new WharfError(ErrorCode.CONNECTION_CLOSED, "the client closed the connection");
    this.#inFlight.abortAll(reason);
    this.#body.destroy(reason);
    this.#writer.end();
    lingerThenDestroy(this.socket);
  }

  #onClose(): void {
    this.#closing = true;
    this.#inFlight.abortAll(new WharfError(ErrorCode.CONNECTION_CLOSED, "the connection closed"));
    this.#body.destroy(new WharfError(ErrorCode.CONNECTION_CLOSED, "the connection closed before the body ended"));
    this.#host.connectionClosed(this);
  }

  /**
   * A protocol error closes the connection with its code; anything else thrown while decoding is a bug of the
   * runtime, and it too costs only this connection.
   */
  #failOn(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.fail(err, err.id);
      return;
    }
    this.#logger.error({ err }, "decoding failed");
    this.fail(new WharfError(ErrorCode.INTERNAL, "internal error while reading the request"));
  }

  #classify(header: FrameHeader): "buffer" | "stream" {
    assertRequestHeader(header);
    // Looked up once per frame: #dispatch of this frame takes it from here.
    const route = this.#host.dispatcher.route(header.type);
    this.#route = route;
    return route?.stream === true ? "stream" : "buffer";
  }

  #startBody(header: RequestHeader): void {
    this.#dispatch(header, this.#host.dispatcher.ownBody(this.#body.start()));
  }

  #dispatch(header: RequestHeader, body: Buffer | Readable): void {
    const route = this.#route;
    this.#route = undefined;
    this.#host.dispatcher.dispatch(this, header, body, route);
  }

  /** @internal (RequestSource) */
  get logger(): Logger {
    return this.#logger;
  }

  /** @internal (RequestSource) */
  context(id: number, type: string): RequestContext {
    return new RequestContext(id, type, this.id, this.peer, this.#logger, this.#session, this);
  }

  /** @internal (RequestSource) */
  started(): void {
    this.#pending += 1;
  }

  /** @internal (RequestSource) Only a request still running after its handler returned can be cancelled or aborted. */
  track(ctx: RequestContext): void {
    if (this.#closing) ctx.abort(new WharfError(ErrorCode.CONNECTION_CLOSED, "the connection closed"));
    else this.#inFlight.add(ctx);
    this.#updateFlow();
  }

  /** @internal (RequestSource) */
  refuse(id: number, error: WireErrorBody): void {
    if (this.#closing) return;
    this.#write([errorFrame(id, error)]);
  }

  /** @internal (RequestSource) */
  cancel(id: number, ref: unknown): void {
    const target = typeof ref === "number" ? this.#inFlight.find(ref) : undefined;
    target?.abort(new WharfError(ErrorCode.CANCELLED, "the client cancelled the request"));
    this.#write(encodeFrameParts({ id, ok: true, cancelled: target !== undefined }));
  }

  /** @internal (RequestSource) */
  finish(ctx: RequestContext, reply: ReplyInit | undefined, error: WireErrorBody | undefined): void {
    this.#pending -= 1;
    this.#inFlight.remove(ctx);
    // Not `socket.destroyed`: that getter (both stream states' flags) was 80 ns of a ping. A socket destroyed by
    // us set #closing; by an error, its 'error' handler did; by the peer's end, #onEnd; and a write in the tick
    // before 'close' on a socket destroyed otherwise is dropped by the stream, harmlessly.
    if (this.#closing) {
      if (reply?.body !== undefined && !(reply.body instanceof Uint8Array)) destroySource(reply.body);
      return;
    }
    this.#replies.write(ctx, reply, error);
    this.#updateFlow();
    this.#maybeEndDrained();
  }

  #write(parts: Buffer[]): void {
    this.#writer.write(parts);
  }

  #updateFlow(): void {
    const pause = this.#writeBlocked || this.#body.blocked || this.#pending >= this.#host.maxInFlight;
    if (pause && !this.#paused) {
      this.#paused = true;
      this.socket.pause();
    } else if (!pause && this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  #maybeEndDrained(): void {
    const settled = this.#pending === 0 && !this.#writer.busy && !this.#body.receiving;
    if (this.#closing || !settled) return;
    if (this.#host.dispatcher.draining && this.#decoder.idle) {
      // Tell the client why its connection ends, so it can retry elsewhere or later (a transfer resumes).
      this.#closing = true;
      this.#writer.end([errorFrame(null, SHUTTING_DOWN_FATAL, true)]);
      lingerThenDestroy(this.socket);
    }
  }

}
