import type { Logger } from "pino";

/** Which transport a request came in on. */
export type Transport = "tcp" | "tls" | "unix" | "udp";

/** The peer of a connection or datagram. */
export interface PeerInfo {
  transport: Transport;
  /** IP address, or the socket path for unix. */
  address: string;
  /** Port for tcp, tls and udp. */
  port?: number;
  /** "IPv4" or "IPv6" for IP transports. */
  family?: string;
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
  readonly session: Map<string, unknown>;
  #logger: Logger;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;

  constructor(id: number, type: string, connectionId: number, peer: PeerInfo, logger: Logger, session: Map<string, unknown>) {
    this.id = id;
    this.type = type;
    this.connectionId = connectionId;
    this.peer = peer;
    this.#logger = logger;
    this.session = session;
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
