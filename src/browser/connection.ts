import { ErrorCode } from "../errors/codes.js";
import { WharfError } from "../errors/wharf-error.js";
import { FrameError, decodeFrame, encodeFrame, isWireInteger, type CodecLimits } from "./codec.js";
import type { EventHeader, MessageEventLike, Reply, ReplyHeader, RequestFields, WebSocketLike } from "./types.js";

/** Options of one request. */
export interface BrowserRequestOptions {
  /** Milliseconds to wait for the (final) reply; then the request fails with `E_TIMEOUT` and is cancelled. */
  timeout?: number;
  /** Aborting fails the request with `E_CANCELLED` and sends the server a `cancel` for it. */
  signal?: AbortSignal;
  /**
   * Receives the intermediate frames of a streamed reply (`more: true`), in order, before the request resolves
   * with the final one. Returning a promise holds back every later frame of the connection until it settles:
   * frames stay in order. (A browser WebSocket cannot stop reading, so what arrives meanwhile waits in memory.)
   */
  onFrame?: (header: ReplyHeader, body: Uint8Array) => void | Promise<void>;
  /** Told the request's id as it is sent (what a later request refers to, e.g. `exec.stdin`'s `ref`). */
  onId?: (id: number) => void;
}

/** Options of a {@link BrowserConnection} (what {@link connect} passes on). */
export interface BrowserConnectionOptions extends CodecLimits {
  /** A label for error messages, e.g. the URL. */
  label?: string;
}

interface Pending {
  type: string;
  resolve(reply: Reply): void;
  reject(err: Error): void;
  onFrame: BrowserRequestOptions["onFrame"];
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** WebSocket.OPEN, the same in browsers and in `ws`. */
const OPEN = 1;

/**
 * A wharf connection over a WebSocket: many requests in flight at once (pipelined), each matched to its reply by
 * id; frames without an id (chat messages, stats) go to {@link onEvent} listeners. Each WebSocket message carries
 * exactly one frame. Made by {@link connect}.
 *
 * @example
 * ```ts
 * import { connect } from "wharf/browser";
 * const conn = await connect("ws://127.0.0.1:9080/ws");
 * const { body } = await conn.request({ type: "ping" }, new TextEncoder().encode("hi"), { timeout: 5_000 });
 * conn.close();
 * ```
 */
export class BrowserConnection {
  readonly label: string;
  #ws: WebSocketLike;
  #limits: CodecLimits;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  #closeReason: WharfError | null = null;
  #closedByUs = false;
  #eventListeners = new Set<(header: EventHeader, body: Uint8Array) => void>();
  #closeListeners = new Set<(error?: WharfError) => void>();
  /** Messages that arrived while an onFrame promise held delivery back, oldest first. */
  #inbox: Uint8Array[] = [];
  #blocked = false;

  /** Wraps an open WebSocket (its subprotocol `wharf`); most callers use {@link connect}. */
  constructor(ws: WebSocketLike, options: BrowserConnectionOptions = {}) {
    this.label = options.label ?? "connection";
    this.#ws = ws;
    this.#limits = { maxHeaderSize: options.maxHeaderSize, maxBodySize: options.maxBodySize };
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (event) => this.#onMessage(event));
    ws.addEventListener("close", (event) => this.#onClose(event.code, event.reason));
    ws.addEventListener("error", () => {
      this.#closeReason ??= new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label}: the WebSocket failed`);
    });
  }

  /** True once the connection is closed (or closing). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued by `send` and not yet handed to the network: wait while it is high (see {@link drained}). */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Requests waiting for their replies. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Resolves once at most `limit` bytes (default 1 MiB) wait in the socket's send buffer: a browser WebSocket has
   * no drain event, so this polls `bufferedAmount`. Rejects with the close reason if the connection closes.
   */
  async drained(limit = 1024 * 1024): Promise<void> {
    let delay = 1;
    while (this.#ws.bufferedAmount > limit) {
      if (this.#closed) throw this.#closedError();
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 20);
    }
    if (this.#closed) throw this.#closedError();
  }

  /**
   * Sends a request and resolves its reply; a failed reply rejects with a WharfError carrying the server's
   * `code`, `message` and `data`. The `id` is chosen here; a `size` is set from the body.
   */
  request(header: RequestFields, body?: Uint8Array, options?: BrowserRequestOptions): Promise<Reply>;
  /** The signature of `wharf/client`'s `Connection.request(type, fields, body, options)`, for code shared by both. */
  request(type: string, fields?: Record<string, unknown>, body?: Uint8Array, options?: BrowserRequestOptions): Promise<Reply>;
  request(
    first: RequestFields | string,
    second?: Uint8Array | Record<string, unknown>,
    third?: BrowserRequestOptions | Uint8Array,
    fourth?: BrowserRequestOptions,
  ): Promise<Reply> {
    if (typeof first === "string") {
      const fields = (second ?? {}) as Record<string, unknown>;
      return this.#request({ ...fields, type: first }, third as Uint8Array | undefined, fourth ?? {});
    }
    return this.#request(first, second as Uint8Array | undefined, (third as BrowserRequestOptions | undefined) ?? {});
  }

  /**
   * Like {@link request}, with the reply's body as a `ReadableStream` of bytes, as `wharf/client`'s
   * `requestStream()` gives a Readable. Over a WebSocket the body arrives in one message, so the stream holds it
   * whole; the shape lets code read bodies one way whatever the transport.
   *
   * @example
   * ```ts
   * const reply = await conn.requestStream("files.get", { path: "notes.txt" });
   * for await (const chunk of reply.body as unknown as AsyncIterable<Uint8Array>) console.log(chunk.byteLength);
   * ```
   */
  async requestStream(type: string, fields?: Record<string, unknown>, body?: Uint8Array, options?: BrowserRequestOptions): Promise<{ header: ReplyHeader; body: ReadableStream<Uint8Array> }> {
    const reply = await this.request(type, fields, body, options);
    const bytes = reply.body;
    return {
      header: reply.header,
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          if (bytes.byteLength > 0) controller.enqueue(bytes);
          controller.close();
        },
      }),
    };
  }

  #request(header: RequestFields, body: Uint8Array | undefined, options: BrowserRequestOptions): Promise<Reply> {
    if (typeof header !== "object" || header === null || typeof header.type !== "string" || header.type.length === 0) {
      return Promise.reject(new TypeError("header.type must be a non-empty string"));
    }
    if (this.#closed) return Promise.reject(this.#closedError());
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new WharfError(ErrorCode.CANCELLED, "the request was aborted", { cause: signal.reason }));
    const id = this.#nextId++;
    const type = header.type;
    return new Promise<Reply>((resolve, reject) => {
      const pending: Pending = { type, resolve, reject, onFrame: options.onFrame, timer: undefined, signal, onAbort: undefined };
      try {
        this.#ws.send(encodeFrame({ ...header, id }, body, this.#limits.maxHeaderSize));
      } catch (err) {
        reject(err instanceof WharfError ? err : new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      this.#pending.set(id, pending);
      options.onId?.(id);
      const timeout = options.timeout;
      if (timeout !== undefined) {
        pending.timer = setTimeout(() => this.#giveUp(id, new WharfError(ErrorCode.TIMEOUT, `no reply to ${type} within ${timeout} ms`)), timeout);
      }
      if (signal !== undefined) {
        pending.onAbort = () => this.#giveUp(id, new WharfError(ErrorCode.CANCELLED, "the request was aborted", { cause: signal.reason }));
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
    });
  }

  /** Listens to frames without an id (`chat.message`, `chat.presence`, `stats`...). Returns the unsubscribe. */
  onEvent(listener: (header: EventHeader, body: Uint8Array) => void): () => void {
    this.#eventListeners.add(listener);
    return () => void this.#eventListeners.delete(listener);
  }

  /**
   * Listens for the end of the connection: `error` is undefined when {@link close} ended it, else the reason (the
   * server's fatal error frame, or `E_CONNECTION_CLOSED`). Called at once if already closed. Returns the unsubscribe.
   */
  onClose(listener: (error?: WharfError) => void): () => void {
    if (this.#closed) {
      queueMicrotask(() => listener(this.#closedByUs ? undefined : this.#closedError()));
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => void this.#closeListeners.delete(listener);
  }

  /** Closes now; pending requests fail with `E_CONNECTION_CLOSED`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closedByUs = true;
    this.#closeReason ??= new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label} was closed`);
    try {
      this.#ws.close(1000);
    } catch {
      // already closing
    }
    this.#onClose(1000, "closed by the client");
  }

  #closedError(): WharfError {
    return this.#closeReason ?? new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label} is closed`);
  }

  /** Fails a request here and asks the server to cancel it (the cancel's own reply is ignored). */
  #giveUp(id: number, error: WharfError): void {
    const pending = this.#settle(id);
    if (pending === undefined) return;
    pending.reject(error);
    if (!this.#closed && this.#ws.readyState === OPEN) {
      const cancelId = this.#nextId++;
      try {
        this.#ws.send(encodeFrame({ type: "cancel", id: cancelId, ref: id }));
      } catch {
        // a courtesy: the request already failed here
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

  #onMessage(event: MessageEventLike): void {
    if (this.#closed) return;
    const data = event.data;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this.#fail(new WharfError(ErrorCode.PROTOCOL, `the server broke the protocol: a ${typeof data === "string" ? "text" : "non-binary"} message`));
      return;
    }
    if (this.#blocked) {
      this.#inbox.push(bytes);
      return;
    }
    this.#deliver(bytes);
  }

  /** Handles one message; when an onFrame promise holds delivery back, later messages wait in the inbox. */
  #deliver(bytes: Uint8Array): void {
    let header: ReplyHeader;
    let body: Uint8Array;
    try {
      ({ header, body } = decodeFrame(bytes, this.#limits) as { header: ReplyHeader; body: Uint8Array });
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.#fail(new WharfError(ErrorCode.PROTOCOL, `the server broke the protocol: ${err.message}`, { cause: err }));
      return;
    }
    const id = header.id;
    if (!isWireInteger(id)) {
      if (header.ok === false) this.#closeReason = WharfError.fromWire(header.error, "the server closed the connection");
      else for (const listener of [...this.#eventListeners]) callSafely(() => listener(header as EventHeader, body));
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
    pending?.resolve({ header, body }); // a late reply (timed out, cancelled) is dropped
  }

  #onPartial(id: number, header: ReplyHeader, body: Uint8Array): void {
    const onFrame = this.#pending.get(id)?.onFrame;
    if (onFrame === undefined) return;
    let result: void | Promise<void>;
    try {
      result = onFrame(header, body);
    } catch (err) {
      this.#giveUp(id, err instanceof WharfError ? err : new WharfError(ErrorCode.CANCELLED, `onFrame failed: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (result === undefined || typeof (result as Promise<void>).then !== "function") return;
    this.#blocked = true;
    (result as Promise<void>).then(
      () => this.#unblock(),
      (err: unknown) => {
        this.#giveUp(id, new WharfError(ErrorCode.CANCELLED, `onFrame failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        this.#unblock();
      },
    );
  }

  #unblock(): void {
    this.#blocked = false;
    while (!this.#blocked && !this.#closed && this.#inbox.length > 0) this.#deliver(this.#inbox.shift() as Uint8Array);
  }

  #fail(error: WharfError): void {
    this.#closeReason ??= error;
    try {
      this.#ws.close(1002, "protocol error");
    } catch {
      // closing already
    }
    this.#onClose(1002, error.message);
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox = [];
    const error = this.#closeReason ?? new WharfError(ErrorCode.CONNECTION_CLOSED, `${this.label} closed (${code}${reason ? `: ${reason}` : ""})`);
    this.#closeReason = error;
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    this.#eventListeners.clear();
    for (const listener of listeners) callSafely(() => listener(this.#closedByUs ? undefined : error));
  }
}

/** A listener that throws must not stop the others, nor the connection: reported (reportError where there is one). */
function callSafely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
    if (typeof report === "function") report(err);
    else console.error(err);
  }
}
