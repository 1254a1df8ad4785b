import type { RemoteInfo, Socket as UdpSocket } from "node:dgram";
import type { Logger } from "pino";
import {
  ErrorCode,
  MAX_DATAGRAM_SIZE,
  ProtocolError,
  WharfError,
  assertRequestHeader,
  decodeDatagram,
  encodeDatagram,
  isWireInteger,
  type ResolvedFrameLimits,
} from "../wire/index.js";
import { RequestContext, type DatagramSender, type PeerInfo } from "./context.js";
import { errorFrame, toWireError } from "./reply.js";
import { Session } from "./session.js";
import type { ReplyInit, Router } from "./router.js";

/** What a UDP endpoint needs from its server. */
export interface DatagramHost {
  readonly router: Router;
  readonly logger: Logger;
  readonly limits: ResolvedFrameLimits;
  readonly draining: boolean;
}

/**
 * Serves requests that arrive one frame per datagram and answers each to its sender's address.
 *
 * A datagram that is not a frame, or whose `id` cannot be read, is dropped without a reply: answering unverified
 * sources with more bytes than they sent would make the server a reflector. A frame with a readable `id` gets an
 * error reply. Nothing a datagram holds can stop the service.
 */
export class UdpEndpoint implements DatagramSender {
  readonly socket: UdpSocket;
  #host: DatagramHost;
  #closed = false;
  #inFlight = new Set<RequestContext>();
  /** Datagrams dropped because they were not frames. */
  dropped = 0;

  constructor(socket: UdpSocket, host: DatagramHost) {
    this.socket = socket;
    this.#host = host;
    socket.on("message", (msg, rinfo) => this.#onMessage(msg, rinfo));
    socket.on("error", (err) => host.logger.warn({ err }, "udp socket error"));
    socket.on("close", () => {
      this.#closed = true;
    });
  }

  /** True once the socket is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one frame as one datagram to any address from this endpoint's socket (see DatagramSender). */
  sendDatagram(header: Record<string, unknown>, body: Uint8Array | undefined, address: string, port: number): boolean {
    const datagram = encodeDatagram(header, body, MAX_DATAGRAM_SIZE);
    if (this.#closed) return false;
    try {
      this.socket.send(datagram, port, address, (err) => {
        if (err) this.#host.logger.debug({ err, peer: address }, "udp datagram not sent");
      });
    } catch (err) {
      // close() was called but its "close" event has not fired yet
      this.#host.logger.debug({ err, peer: address }, "udp datagram not sent");
      return false;
    }
    return true;
  }

  /** Requests still being handled. */
  get pending(): number {
    return this.#inFlight.size;
  }

  /** Aborts every request in flight. */
  abortAll(reason: unknown): void {
    for (const ctx of this.#inFlight) ctx.abort(reason);
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let header;
    let body: Buffer;
    try {
      ({ header, body } = decodeDatagram(msg, this.#host.limits));
      assertRequestHeader(header);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      const id = err.id ?? (header !== undefined && isWireInteger(header.id) ? header.id : null);
      if (id === null) {
        this.dropped += 1;
        this.#host.logger.debug({ peer: rinfo.address, code: err.code }, "dropped a malformed datagram");
        return;
      }
      this.#send(errorFrame(id, err.toWire()), rinfo);
      return;
    }
    const { id, type } = header;
    const route = this.#host.router.get(type);
    if (this.#host.draining && route?.duringDrain !== true) {
      this.#send(errorFrame(id, { code: ErrorCode.SHUTTING_DOWN, message: "the server is shutting down" }), rinfo);
      return;
    }
    if (route === undefined || route.stream) {
      const message = route === undefined ? `unknown request type ${JSON.stringify(type)}` : `request type ${JSON.stringify(type)} streams its body and is not served over udp`;
      this.#send(errorFrame(id, { code: ErrorCode.UNKNOWN_TYPE, message }), rinfo);
      return;
    }
    const peer: PeerInfo = { transport: "udp", address: rinfo.address, port: rinfo.port, family: rinfo.family };
    // Datagrams share no connection, so each gets a session of its own: a login over udp must not leak to others.
    const ctx = new RequestContext(id, type, 0, peer, this.#host.logger, new Session(), null, this);
    this.#inFlight.add(ctx);
    let result;
    try {
      result = route.handler(header, body, ctx);
    } catch (err) {
      this.#finish(ctx, rinfo, undefined, err);
      return;
    }
    Promise.resolve(result).then(
      (reply) => this.#finish(ctx, rinfo, reply ?? undefined, undefined),
      (err: unknown) => this.#finish(ctx, rinfo, undefined, err),
    );
  }

  #finish(ctx: RequestContext, rinfo: RemoteInfo, reply: ReplyInit | undefined, error: unknown): void {
    this.#inFlight.delete(ctx);
    let datagram: Buffer;
    if (error !== undefined) {
      datagram = errorFrame(ctx.id, toWireError(error, this.#host.logger, { id: ctx.id, type: ctx.type }));
    } else {
      try {
        const body = reply?.body;
        if (body !== undefined && !(body instanceof Uint8Array)) {
          throw new WharfError(ErrorCode.FRAME_TOO_LARGE, "a streamed reply cannot be sent over udp");
        }
        datagram = encodeDatagram({ ...reply?.header, id: ctx.id, ok: true }, body, MAX_DATAGRAM_SIZE);
      } catch (err) {
        datagram = errorFrame(ctx.id, toWireError(err, this.#host.logger, { id: ctx.id, type: ctx.type }));
      }
    }
    this.#send(datagram, rinfo);
  }

  #send(datagram: Buffer, rinfo: RemoteInfo): void {
    this.socket.send(datagram, rinfo.port, rinfo.address, (err) => {
      if (err) this.#host.logger.debug({ err, peer: rinfo.address }, "udp reply not sent");
    });
  }
}
