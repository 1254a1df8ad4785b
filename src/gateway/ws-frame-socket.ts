import { Duplex } from "node:stream";
import type { WebSocket, RawData } from "ws";
import { ErrorCode, ProtocolError } from "../wire/index.js";
import { errorFrame } from "../server/reply.js";
import { checkOneFrame } from "./frame-boundaries.js";
import { OutboundFrames } from "./outbound-frames.js";

/** WebSocket close codes the gateway uses (RFC 6455 §7.4.1). */
export const WS_CLOSE = { NORMAL: 1000, GOING_AWAY: 1001, PROTOCOL_ERROR: 1002, UNSUPPORTED_DATA: 1003 } as const;

/**
 * A WebSocket seen as the byte stream a wharf connection reads and writes, so that one StreamConnection serves
 * TCP, TLS, Unix sockets and WebSockets alike (same limits, handlers, logins, backpressure).
 *
 * In: each binary message must carry exactly one frame (checked before the frame decoder sees it); a text
 * message, or a message that is not exactly one frame, ends the input, and the connection's last frame is the
 * fatal error frame TCP would send, followed by a close (1002, or 1003 for text). Out: the frames the connection
 * writes leave one per message; a large or streamed body goes as fragments of its message.
 *
 * Backpressure both ways: while the connection stops reading, the WebSocket is paused (the peer's sends back up
 * in TCP); a write's callback waits until ws has handed its bytes to the socket, so the connection sees the
 * peer's slowness as a growing `writableLength`.
 */
export class WsFrameSocket extends Duplex {
  readonly ws: WebSocket;
  #maxHeaderSize: number;
  #outbound = new OutboundFrames();
  /** Set when the input broke the one-frame-per-message rule: sent as the fatal last frame. */
  #failure: { error: ProtocolError; closeCode: number } | null = null;
  #bytesRead = 0;
  #bytesWritten = 0;

  constructor(ws: WebSocket, maxHeaderSize: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.ws = ws;
    this.#maxHeaderSize = maxHeaderSize;
    ws.on("message", (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on("close", () => this.destroy());
    ws.on("error", (err) => this.destroy(err));
  }

  /** Payload bytes received (WebSocket framing not counted). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Payload bytes sent. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Nagle is the WebSocket's socket's business (ws turns it off); present so the connection can call it. */
  setNoDelay(): this {
    return this;
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#failure !== null || this.readableEnded) return;
    if (!isBinary) {
      this.#fail(new ProtocolError(ErrorCode.BAD_HEADER, "a text message is not a frame: send each frame as one binary message"), WS_CLOSE.UNSUPPORTED_DATA);
      return;
    }
    const message = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.#bytesRead += message.length;
    const problem = checkOneFrame(message, this.#maxHeaderSize);
    if (problem !== null) {
      this.#fail(problem, WS_CLOSE.PROTOCOL_ERROR);
      return;
    }
    if (!this.push(message)) this.ws.pause();
  }

  /** Ends the input: the connection aborts its requests and ends its output, and _final sends the error last. */
  #fail(error: ProtocolError, closeCode: number): void {
    this.#failure = { error, closeCode };
    this.push(null);
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(this.#outbound.take(chunk), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const pieces = [];
    for (const { chunk } of chunks) pieces.push(...this.#outbound.take(chunk));
    this.#send(pieces, callback);
  }

  #send(pieces: { data: Buffer; fin: boolean }[], callback: (error?: Error | null) => void): void {
    if (pieces.length === 0 || this.ws.readyState !== this.ws.OPEN) {
      callback();
      return;
    }
    for (let i = 0; i < pieces.length; i += 1) {
      const { data, fin } = pieces[i];
      this.#bytesWritten += data.length;
      // The last send's callback releases the write: by then ws has handed every piece to the socket.
      this.ws.send(data, { binary: true, fin, compress: false }, i === pieces.length - 1 ? (err) => callback(err ?? null) : undefined);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    const failure = this.#failure;
    if (this.ws.readyState === this.ws.OPEN) {
      if (failure !== null) {
        const frame = errorFrame(failure.error.id, failure.error.toWire(), true);
        this.#bytesWritten += frame.length;
        this.ws.send(frame, { binary: true, fin: true, compress: false });
        this.ws.close(failure.closeCode, failure.error.code);
      } else {
        this.ws.close(WS_CLOSE.NORMAL);
      }
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const { readyState } = this.ws;
    if (readyState === this.ws.OPEN || readyState === this.ws.CONNECTING) this.ws.terminate();
    callback(error);
  }
}
