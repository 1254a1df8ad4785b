import type { Logger } from "pino";
import { ErrorCode, WharfError } from "../wire/index.js";
import type { Session } from "./session.js";

/** Which transport a request came in on: `ws`/`wss` are WebSockets of the HTTP gateway (`wharf/gateway`). */
export type Transport = "tcp" | "tls" | "unix" | "udp" | "ws" | "wss";

/** The peer of a connection or datagram. */
export interface PeerInfo {
  transport: Transport;
  /** IP address, or the socket path for unix. */
  address: string;
  /** Port for tcp, tls, udp, ws and wss. */
  port?: number;
  /** "IPv4" or "IPv6" for IP transports. */
  family?: string;
}

/**
 * The connection a request came in on, as handlers may use it beyond the request: to push events later (chat),
 * to watch its send buffer, or to close it. Absent for datagrams.
 */
export interface ConnectionChannel {
  /** The connection's number within its server. */
  readonly id: number;
  /** True once the connection is closing or closed. */
  readonly closed: boolean;
  /** Bytes written to the connection but not yet taken by the peer. */
  readonly bufferedBytes: number;
  /**
   * Sends a frame answering no request: `{ event, ...fields }` (protocol.md §2.4). Returns false when the
   * connection is closed or its send buffer is over its high-water mark (the frame is still queued then).
   */
  sendEvent(event: string, fields?: Record<string, unknown>, body?: Uint8Array): boolean;
  /**
   * Sends an event frame already encoded with `encodeEvent()` (from `wharf/wire`): for fan-out, where one
   * encoding serves every receiver. Same return value as sendEvent.
   */
  sendFrame(parts: Buffer[]): boolean;
  /** Closes the connection with a fatal error frame carrying this error. */
  close(error: WharfError): void;
  /** Calls `listener` once when the connection closes (at once if it already has). */
  onClose(listener: () => void): void;
}

/**
 * The UDP socket a datagram came in on, as handlers may use it beyond the request: to send datagrams to other
 * peers (a chat server relaying to its members). Absent for stream connections.
 */
export interface DatagramSender {
  /** True once the endpoint's socket is closed (the server shut down). */
  readonly closed: boolean;
  /**
   * Sends one frame as one datagram, `{ ...header }` + body, to `address`:`port` from this endpoint's socket.
   * Returns false (and sends nothing) once the socket is closed. Throws a WharfError `E_FRAME_TOO_LARGE` when the
   * frame does not fit in a datagram. Delivery is not confirmed: send errors are logged at debug level.
   */
  sendDatagram(header: Record<string, unknown>, body: Uint8Array | undefined, address: string, port: number): boolean;
}

/** @internal Where a context sends the intermediate frames of its reply. */
export interface ReplySink {
  sendPartial(ctx: RequestContext, fields: Record<string, unknown>, body: Uint8Array | undefined): Promise<void>;
}

/**
 * What a handler knows about the request it serves. `signal` fires when the request is cancelled by the client,
 * when its connection goes away, or when the server is destroyed; it is made on first use, so handlers that
 * never look at it cost nothing.
 *
 * @example
 * ```ts
 * server.handle("slow", async (header, body, ctx) => {
 *   await setTimeout(10_000, undefined, { signal: ctx.signal });
 *   ctx.logger.info({ peer: ctx.peer.address }, "slow request done");
 * });
 * ```
 */
export class RequestContext {
  /** The request's id, as the client chose it. */
  readonly id: number;
  /** The request's type. */
  readonly type: string;
  /** The connection's number within this server (0 for datagrams). */
  readonly connectionId: number;
  readonly peer: PeerInfo;
  /** Per-connection state that handlers of one connection share (a session, for example). */
  readonly session: Session;
  /** The connection, for handlers that outlive their request (null for datagrams). */
  readonly channel: ConnectionChannel | null;
  /** The UDP endpoint a datagram came in on, for sending to other peers (null for stream connections). */
  readonly udp: DatagramSender | null;
  #logger: Logger;
  #sink: ReplySink | null;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;

  constructor(
    id: number,
    type: string,
    connectionId: number,
    peer: PeerInfo,
    logger: Logger,
    session: Session,
    channel: (ConnectionChannel & ReplySink) | null = null,
    udp: DatagramSender | null = null,
  ) {
    this.id = id;
    this.type = type;
    this.connectionId = connectionId;
    this.peer = peer;
    this.#logger = logger;
    this.session = session;
    this.channel = channel;
    this.udp = udp;
    this.#sink = channel;
  }

  /**
   * Sends an intermediate frame of this request's reply, `{ ...fields, id, ok: true, more: true }`, before the
   * handler's final reply (streamed output, server-streaming calls). Resolves when the connection can take more
   * (backpressure); rejects with the abort reason once the request is aborted. Not available over UDP.
   *
   * @example
   * ```ts
   * server.handle("count", async (header, _body, ctx) => {
   *   for (let i = 0; i < 3; i++) await ctx.send({ n: i });
   *   return { header: { total: 3 } };
   * });
   * ```
   */
  send(fields: Record<string, unknown> = {}, body?: Uint8Array): Promise<void> {
    if (this.#sink === null) return Promise.reject(new WharfError(ErrorCode.UNKNOWN_TYPE, "streamed replies need a stream connection, not udp"));
    if (this.#abortReason !== undefined) return Promise.reject(this.#abortReason);
    return this.#sink.sendPartial(this, fields, body);
  }

  get logger(): Logger {
    return this.#logger;
  }

  /** Fires when the request is cancelled, its connection closes, or the server is destroyed. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** True once the request was aborted for any reason. */
  get aborted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** @internal Aborts the request's signal (idempotent). */
  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}
