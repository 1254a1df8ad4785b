import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import {
  BodyInlet,
  IncomingBody,
  ErrorCode,
  FrameDecoder,
  FrameWriter,
  ProtocolError,
  WharfError,
  isWireInteger,
  type FrameHeader,
  type FrameLimits,
  type ReplyHeader,
  type StreamedBody,
} from "../wire/index.js";
import { readTransient } from "../wire/read-into.js";

/**
 * Where every client connection of the process reads (each read is handled before the next one happens). 256 KiB:
 * a big reply's reads then take up to four times what a socket's own 64 KiB reads do, with a quarter of the calls.
 */
const clientReadBuffer = Buffer.allocUnsafeSlow(256 * 1024);

/** Options of one request. */
export interface RequestOptions {
  /** Milliseconds to wait for the reply header; then the request fails with `E_TIMEOUT` and is cancelled. */
  timeout?: number;
  /** Aborting fails the request with `E_CANCELLED` and cancels it on the server. */
  signal?: AbortSignal;
  /**
   * Receives the intermediate frames of a streamed reply (`more: true`), in order, before the request resolves
   * with the final one. Returning a promise pauses reading from the connection until it settles (backpressure).
   * The body is the callee's to keep: the connection never reads into its memory again (the decoder copies a
   * frame out of its reused read buffer before handing it on).
   */
  onFrame?: (header: ReplyHeader, body: Buffer) => void | Promise<void>;
}

/** A reply: its header and its body. */
export interface Reply<Body = Buffer> {
  header: ReplyHeader;
  body: Body;
}

/** A request body: bytes, or `size` bytes from a stream. */
export type RequestBody = Uint8Array | StreamedBody;

interface Pending {
  resolve(reply: Reply<any>): void;
  reject(err: Error): void;
  stream: boolean;
  onFrame: RequestOptions["onFrame"];
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Options for wrapping a connected socket. */
export interface ConnectionOptions extends FrameLimits {
  /** A label for error messages, e.g. the URL. */
  label?: string;
}

/**
 * A client connection: many requests in flight at once (pipelined), each matched to its reply by id.
 * Frames the server sends without an id are emitted as `"event"` (header, body).
 * Emits `"close"` (error or undefined) once, when the connection is gone.
 *
 * @example
 * ```ts
 * import { connect } from "wharf/client";
 * const conn = await connect("tcp://127.0.0.1:9000");
 * const { body } = await conn.request("ping", {}, Buffer.from("hello"), { timeout: 5_000 });
 * await conn.close();
 * ```
 */
export class Connection extends EventEmitter {
  readonly label: string;
  #socket: Socket;
  #decoder: FrameDecoder;
  #writer: FrameWriter;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closeReason: WharfError | null = null;
  #closed = false;
  /** The streamed reply body being received, if any; the socket pauses while its reader is behind. */
  #body = new BodyInlet((blocked) => (blocked ? this.#socket.pause() : this.#socket.resume()));
  /** True while the chunk being decoded is valid only during its read callback. */
  #transient = false;
  /** The first bytes the server sent, until a frame decodes: to tell "not a wharf server" from a broken one. */
  #firstBytes: Buffer | null = Buffer.alloc(0);

  constructor(socket: Socket, options: ConnectionOptions = {}) {
    super();
    this.label = options.label ?? "connection";
    this.#socket = socket;
    this.#writer = new FrameWriter(socket, { maxHeaderSize: options.maxHeaderSize });
    this.#decoder = new FrameDecoder(
      {
        onHeader: (header) => this.#classify(header),
        onFrame: (header, body) => this.#onFrame(header as ReplyHeader, body),
        onBodyStart: (header) => this.#onBodyStart(header as ReplyHeader),
        onBodyChunk: (chunk) => this.#body.push(chunk, this.#transient),
        onBodyEnd: () => this.#body.end(),
      },
      options,
    );
    socket.setNoDelay(true);
    // A plain socket reads into one reused buffer (wire/read-into.ts): no fresh buffer per read, and a body
    // drained into a sink (IncomingBody.drainInto) is never copied on the way.
    readTransient(socket, (chunk, transient) => {
      if (this.#firstBytes !== null && this.#firstBytes.length < 32) this.#firstBytes = Buffer.concat([this.#firstBytes, chunk]).subarray(0, 32);
      this.#transient = transient;
      try {
        this.#decoder.push(chunk, transient);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.#fail(this.#protocolError(err));
      } finally {
        this.#transient = false;
      }
    }, clientReadBuffer);
    socket.on("end", () => socket.end());
    socket.on("error", (err) => {
      this.#closeReason ??= new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label}: ${err.message}`, { cause: err });
    });
    socket.on("close", () => this.#onClose());
  }

  /**
   * A peer whose very first frame does not decode is most likely not a wharf server at all (an HTTP port, say):
   * say so, with what it sent, rather than report a header length of 1.2 GB.
   */
  #protocolError(err: ProtocolError): WharfError {
    const first = this.#firstBytes;
    if (first === null) return new WharfError(ErrorCode.PROTOCOL, `the server broke the protocol: ${err.message}`, { cause: err });
    const printable = first.toString("latin1").replace(/[^\x20-\x7e]/g, ".").replace(/\.+$/, "");
    return new WharfError(ErrorCode.PROTOCOL, `${this.label} is not a wharf server (it answered ${JSON.stringify(printable)}): check the URL and port`, { cause: err });
  }

  /** Requests waiting for their replies. */
  get pending(): number {
    return this.#pending.size;
  }

  /** True once the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request and resolves its reply; a failed reply rejects with a WharfError carrying the server's
   * code. A request body may be bytes or `{ size, stream }`.
   */
  request(type: string, header?: Record<string, unknown>, body?: RequestBody, options?: RequestOptions): Promise<Reply> {
    return this.#send(type, header, body, options, false);
  }

  /**
   * Like {@link request}, but the reply body is streamed (for large bodies): an IncomingBody, read as a Readable
   * with backpressure, or handed piece by piece to a sink with `drainInto` (no copy on the way). Intermediate
   * frames come before it, each read whole and handed to `onFrame`.
   */
  requestStream(
    type: string,
    header?: Record<string, unknown>,
    body?: RequestBody,
    options?: RequestOptions,
  ): Promise<Reply<IncomingBody>> {
    return this.#send(type, header, body, options, true);
  }

  /** Ends the connection once every pending request is answered. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#pending.size > 0) await new Promise((resolve) => setImmediate(resolve));
    const closed = new Promise<void>((resolve) => this.once("close", () => resolve()));
    this.#socket.end();
    await closed;
  }

  /** Closes at once; pending requests fail with `E_CONNECTION_CLOSED`. */
  destroy(): void {
    this.#socket.destroy();
  }

  #send<B>(
    type: string,
    fields: Record<string, unknown> | undefined,
    body: RequestBody | undefined,
    options: RequestOptions | undefined,
    stream: boolean,
  ): Promise<Reply<B>> {
    if (typeof type !== "string" || type.length === 0) {
      return Promise.reject(new TypeError("type must be a non-empty string"));
    }
    if (this.#closed) {
      return Promise.reject(this.#closeReason ?? new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label} is closed`));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new WharfError(ErrorCode.CANCELLED, "the request was aborted", { cause: signal.reason }));
    const id = this.#nextId++;
    const header = fields === undefined ? { type, id } : { ...fields, type, id };
    return new Promise<Reply<B>>((resolve, reject) => {
      const pending: Pending = { resolve, reject, stream, onFrame: options?.onFrame, timer: undefined, signal, onAbort: undefined };
      this.#pending.set(id, pending);
      const timeout = options?.timeout;
      if (timeout !== undefined) {
        pending.timer = setTimeout(() => {
          this.#giveUp(id, new WharfError(ErrorCode.TIMEOUT, `no reply to ${type} within ${timeout} ms`));
        }, timeout);
      }
      if (signal !== undefined) {
        pending.onAbort = () => this.#giveUp(id, new WharfError(ErrorCode.CANCELLED, "the request was aborted", { cause: signal.reason }));
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      try {
        if (body === undefined || body instanceof Uint8Array) {
          this.#writer.writeFrame(header, body);
        } else {
          this.#writer.writeStreamed(header, body).catch((err: unknown) => {
            // A body that cannot be finished breaks the framing of everything after it.
            this.#fail(new WharfError(ErrorCode.CONNECTION_CLOSED, `request body failed: ${(err as Error).message}`, { cause: err }));
          });
        }
      } catch (err) {
        this.#settle(id);
        reject(err as Error);
      }
    });
  }

  /** Fails a request on the client and asks the server to cancel it. */
  #giveUp(id: number, error: WharfError): void {
    const pending = this.#settle(id);
    if (pending === undefined) return;
    pending.reject(error);
    if (!this.#closed && this.#socket.writable) {
      try {
        this.#writer.writeFrame({ type: "cancel", id: this.#nextId++, ref: id });
      } catch {
        // the cancel is a courtesy; the reply is ignored either way
      }
    }
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    if (pending.onAbort !== undefined) pending.signal?.removeEventListener("abort", pending.onAbort);
    return pending;
  }

  #classify(header: FrameHeader): "buffer" | "stream" {
    this.#firstBytes = null; // a header decoded: this is a wharf peer
    const id = header.id;
    // Only the final frame's body streams: an intermediate one (`more`) is read whole and handed to `onFrame`.
    if (header.ok === true && header.more !== true && isWireInteger(id) && this.#pending.get(id)?.stream === true) return "stream";
    return "buffer";
  }

  #onFrame(header: ReplyHeader, body: Buffer): void {
    const id = header.id;
    if (!isWireInteger(id)) {
      if (header.ok === false) {
        // A connection-level error (idle timeout, too many connections, a frame the server refused).
        this.#closeReason = WharfError.fromWire(header.error, "the server closed the connection");
      } else {
        this.emit("event", header, body);
      }
      return;
    }
    if (header.more === true && header.ok === true) {
      this.#onPartial(id, header, body);
      return;
    }
    const pending = this.#settle(id);
    if (header.ok !== true) {
      const error = WharfError.fromWire(header.error, "the request failed");
      if (header.fatal === true) this.#closeReason = error;
      pending?.reject(error);
      return;
    }
    if (pending === undefined) return; // timed out or cancelled: the late reply is dropped
    pending.resolve({ header, body: pending.stream ? IncomingBody.of(body) : body });
  }

  #onPartial(id: number, header: ReplyHeader, body: Buffer): void {
    const onFrame = this.#pending.get(id)?.onFrame;
    if (onFrame === undefined) return;
    let result: void | Promise<void>;
    try {
      result = onFrame(header, body);
    } catch (err) {
      this.#giveUp(id, err instanceof WharfError ? err : new WharfError(ErrorCode.CANCELLED, `onFrame failed: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (result !== undefined && typeof result.then === "function") {
      this.#socket.pause();
      result.then(
        () => this.#socket.resume(),
        (err: unknown) => {
          this.#socket.resume();
          this.#giveUp(id, new WharfError(ErrorCode.CANCELLED, `onFrame failed: ${(err as Error).message}`, { cause: err }));
        },
      );
    }
  }

  #onBodyStart(header: ReplyHeader): void {
    const pending = this.#settle(header.id as number);
    const body = this.#body.start();
    if (pending === undefined) body.resume(); // nobody waits: discard
    else pending.resolve({ header, body });
  }

  #fail(error: WharfError): void {
    this.#closeReason ??= error;
    this.#socket.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    const reason = this.#closeReason ?? new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label} closed before the reply arrived`);
    this.#body.destroy(reason);
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(reason);
    this.emit("close", this.#closeReason ?? undefined);
  }
}
