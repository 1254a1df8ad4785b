import type { RemoteInfo, Socket as UdpSocket } from "node:dgram";
import type { Logger } from "pino";
import {
  MAX_DATAGRAM_SIZE,
  ProtocolError,
  WharfError,
  ErrorCode,
  assertRequestHeader,
  decodeDatagram,
  encodeDatagram,
  isWireInteger,
  type FrameHeader,
  type ResolvedFrameLimits,
  type WireErrorBody,
} from "../wire/index.js";
import { fitReply } from "./amplification.js";
import { RequestContext, type DatagramSender, type PeerInfo } from "./context.js";
import type { Dispatcher, RequestSource } from "./dispatcher.js";
import { errorFrame } from "./reply.js";
import { Session } from "./session.js";
import type { ReplyInit } from "./router.js";

/** @internal What a UDP endpoint needs from its server. */
export interface DatagramHost {
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly limits: ResolvedFrameLimits;
}

/**
 * Serves requests that arrive one frame per datagram and answers each to its sender's address.
 *
 * UDP source addresses can be forged, so nothing here may turn the server into a reflector: a datagram that is
 * not a frame, or whose `id` cannot be read, is dropped without a reply, and no reply is larger than three times
 * the request it answers (see amplification.ts). Nothing a datagram holds can stop the service.
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
    return this.send(datagram, address, port);
  }

  /** @internal Sends a datagram unless the socket is closed (or closing); never throws. */
  send(datagram: Buffer, address: string, port: number): boolean {
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

  /** @internal */
  track(ctx: RequestContext): void {
    this.#inFlight.add(ctx);
  }

  /** @internal */
  untrack(ctx: RequestContext): void {
    this.#inFlight.delete(ctx);
  }

  /** Aborts every request in flight. */
  abortAll(reason: unknown): void {
    for (const ctx of this.#inFlight) ctx.abort(reason);
  }

  /** Stops serving: closes the socket (late replies are dropped). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.close();
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    let header: FrameHeader | undefined;
    let body: Buffer;
    try {
      ({ header, body } = decodeDatagram(msg, this.#host.limits));
      assertRequestHeader(header);
    } catch (err) {
      const protocol = err instanceof ProtocolError;
      const id = protocol && err.id !== null ? err.id : header !== undefined && isWireInteger(header.id) ? header.id : null;
      if (id === null) {
        this.dropped += 1;
        this.#host.logger.debug({ peer: rinfo.address, code: protocol ? err.code : undefined }, "dropped a malformed datagram");
        return;
      }
      const error = protocol ? err.toWire() : { code: ErrorCode.BAD_HEADER, message: "the datagram could not be read" };
      new DatagramRequest(this, rinfo, msg.length, this.#host.logger).refuse(id, error);
      return;
    }
    const source = new DatagramRequest(this, rinfo, msg.length, this.#host.logger);
    const dispatcher = this.#host.dispatcher;
    dispatcher.timing.openInput();
    try {
      dispatcher.dispatch(source, header, body, dispatcher.route(header.type));
    } finally {
      dispatcher.timing.closeInput();
    }
  }
}

/** One request datagram: where its reply goes, and how large that reply may be. */
class DatagramRequest implements RequestSource {
  readonly streams = false;
  readonly transport = "udp";
  readonly logger: Logger;
  #endpoint: UdpEndpoint;
  #rinfo: RemoteInfo;
  #requestSize: number;

  constructor(endpoint: UdpEndpoint, rinfo: RemoteInfo, requestSize: number, logger: Logger) {
    this.#endpoint = endpoint;
    this.#rinfo = rinfo;
    this.#requestSize = requestSize;
    this.logger = logger;
  }

  context(id: number, type: string): RequestContext {
    const peer: PeerInfo = { transport: "udp", address: this.#rinfo.address, port: this.#rinfo.port, family: this.#rinfo.family };
    // Datagrams share no connection, so each gets a session of its own: a login over udp must not leak to others.
    return new RequestContext(id, type, 0, peer, this.logger, new Session(), null, this.#endpoint);
  }

  started(ctx: RequestContext): void {
    this.#endpoint.track(ctx);
  }

  track(): void {}

  refuse(id: number, error: WireErrorBody): void {
    this.#send(id, errorFrame(id, error), error);
  }

  finish(ctx: RequestContext, reply: ReplyInit | undefined, error: WireErrorBody | undefined): void {
    this.#endpoint.untrack(ctx);
    if (error !== undefined) {
      this.refuse(ctx.id, error);
      return;
    }
    const body = reply?.body;
    if (body !== undefined && !(body instanceof Uint8Array)) {
      const stream = body.stream as { destroy?: () => void };
      stream.destroy?.();
      this.refuse(ctx.id, { code: ErrorCode.FRAME_TOO_LARGE, message: "a streamed reply cannot be sent over udp" });
      return;
    }
    let datagram: Buffer;
    try {
      datagram = encodeDatagram({ ...reply?.header, id: ctx.id, ok: true }, body, MAX_DATAGRAM_SIZE);
    } catch (err) {
      const wire = err instanceof WharfError ? err.toWire() : { code: ErrorCode.INTERNAL, message: "the reply could not be encoded" };
      if (!(err instanceof WharfError)) this.logger.error({ err, id: ctx.id, type: ctx.type }, "udp reply could not be encoded");
      this.refuse(ctx.id, wire);
      return;
    }
    this.#send(ctx.id, datagram, undefined);
  }

  #send(id: number, datagram: Buffer, error: WireErrorBody | undefined): void {
    const fitted = fitReply(id, datagram, this.#requestSize, error);
    if (fitted === null) {
      this.logger.debug({ peer: this.#rinfo.address, id }, "udp reply dropped: even an error would amplify");
      return;
    }
    this.#endpoint.send(fitted, this.#rinfo.address, this.#rinfo.port);
  }
}
