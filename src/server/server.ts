import { createSocket } from "node:dgram";
import { channel } from "node:diagnostics_channel";
import { once } from "node:events";
import { unlinkSync } from "node:fs";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { pino, type Logger } from "pino";
import { ErrorCode, WharfError, formatEndpoint, resolveLimits, type FrameLimits, type ResolvedFrameLimits } from "../wire/index.js";
import type { PeerInfo, Transport } from "./context.js";
import { Dispatcher } from "./dispatcher.js";
import type { RequestTallies } from "./request-tallies.js";
import { readProxyHeader, TrustedProxies, type ProxyProtocolOptions } from "./proxy-accept.js";
import { proxyHeaderError } from "./proxy-protocol.js";
import { errorFrame } from "./reply.js";
import { Router, type Handler, type HandlerOptions } from "./router.js";
import { StreamConnection, type ConnectionHost, type StreamSocket } from "./stream-connection.js";
import { UdpEndpoint, type DatagramHost } from "./udp-endpoint.js";


/**
 * `wharf:connection` on node:diagnostics_channel: `{ event: "open" | "close", id, transport }` for each stream
 * connection (published only while someone subscribes; metrics and the stats service do).
 */
export const connectionChannel = channel("wharf:connection");

/** Options of a {@link Server}. Times are in milliseconds; 0 turns a timeout off. */
export interface ServerOptions extends FrameLimits {
  /** A pino logger; default: silent. */
  logger?: Logger;
  /** Most connections served at once; one more gets `E_TOO_MANY_CONNECTIONS` and is closed. Default 10,000. */
  maxConnections?: number;
  /** Requests of one connection in flight before the server stops reading from it. Default 256. */
  maxInFlight?: number;
  /** A connection with no traffic and no request in flight for this long is closed. Default 120,000. */
  idleTimeout?: number;
  /** A frame header must be complete this long after its first byte arrives. Default 30,000. */
  headerTimeout?: number;
  /**
   * Behind a load balancer: TCP connections must come from `trusted` addresses and open with a PROXY header
   * (v1 or v2), whose client address becomes the connection's PeerInfo. Others get `E_PROXY_HEADER` and a close.
   * Not for TLS listeners (the balancer would have to send the header before the handshake; terminate TLS there).
   */
  proxyProtocol?: ProxyProtocolOptions;
}

/** Where and how to listen on TCP, optionally with TLS. */
export interface TcpListenOptions {
  host?: string;
  port?: number;
  /** PEM certificate and key: serve TLS instead of plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** Where to listen on UDP. */
export interface UdpListenOptions {
  host?: string;
  port?: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`options.${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/** Where a server is in its life: serving, draining for a graceful close, or closed. */
export type ServerState = "serving" | "draining" | "closed";

/**
 * A socketserver-style server: register a handler per request type, listen on any mix of TCP, TLS, Unix and
 * UDP endpoints, and serve many clients at once. `ping` (echo the body) is built in.
 *
 * @example
 * ```ts
 * import { Server } from "wharf/server";
 * const server = new Server();
 * server.handle("upper", (header, body) => ({ body: Buffer.from(body.toString().toUpperCase()) }));
 * const url = await server.listenTcp({ host: "127.0.0.1", port: 0 });
 * console.log(`listening on ${url}`);
 * // ... later
 * await server.close();
 * ```
 */
export class Server {
  readonly logger: Logger;
  readonly limits: ResolvedFrameLimits;
  readonly maxInFlight: number;
  readonly maxConnections: number;
  readonly idleTimeout: number;
  readonly headerTimeout: number;
  #proxy: { trusted: TrustedProxies; maxV2Size?: number } | null;
  /** Sockets still sending their PROXY header: not connections yet, but closed with the server. */
  #handshaking = new Set<Socket>();
  #router = new Router();
  #dispatcher = new Dispatcher(this.#router);
  #now = Date.now();
  #closed = false;
  /** What connections and endpoints may use of the server: kept off its public face. */
  #host: ConnectionHost & DatagramHost;
  #nextConnectionId = 1;
  #connections = new Set<StreamConnection>();
  #listeners: { server: NetServer; url: string; path?: string }[] = [];
  #udp: UdpEndpoint[] = [];
  #udpUrls: string[] = [];
  #sweep: NodeJS.Timeout | null = null;
  #idle: (() => void)[] = [];
  /** Bytes of connections already closed, for trafficTotals(). */
  #closedBytesIn = 0;
  #closedBytesOut = 0;
  /** Resolved once the server is closed or destroyed: every waiting close() returns then. */
  #stopped: Promise<void>;
  #markStopped!: () => void;

  constructor(options: ServerOptions = {}) {
    this.logger = options.logger ?? pino({ level: "silent" });
    this.limits = resolveLimits(options);
    this.maxConnections = positiveInteger("maxConnections", options.maxConnections, 10_000);
    this.maxInFlight = positiveInteger("maxInFlight", options.maxInFlight, 256);
    this.idleTimeout = positiveInteger("idleTimeout", options.idleTimeout, 120_000, 0);
    this.headerTimeout = positiveInteger("headerTimeout", options.headerTimeout, 30_000, 0);
    const proxy = options.proxyProtocol;
    this.#proxy = proxy ? { trusted: new TrustedProxies(proxy.trusted), maxV2Size: proxy.maxV2Size } : null;
    this.#router.handle("ping", (_header, body) => ({ body }));
    this.#stopped = new Promise((resolve) => (this.#markStopped = resolve));
    const server = this;
    this.#host = {
      dispatcher: this.#dispatcher,
      logger: this.logger,
      limits: this.limits,
      maxInFlight: this.maxInFlight,
      get now() {
        return server.#now;
      },
      connectionClosed: (connection) => this.#connectionClosed(connection),
    };
  }

  /** `"draining"` once close() or destroy() has begun, `"closed"` once everything is shut. */
  get state(): ServerState {
    if (this.#closed) return "closed";
    return this.#dispatcher.draining ? "draining" : "serving";
  }

  /** Every address listened on, as URLs (tcp://, tls://, unix://, udp://). */
  get addresses(): string[] {
    return [...this.#listeners.map((listener) => listener.url), ...this.#udpUrls];
  }

  /** Every request type this server answers (built-in ones included), sorted: for tools, tests and docs. */
  requestTypes(): string[] {
    return this.#router.types().sort();
  }

  /**
   * Counts every request from now on (type, error code, duration) into `tallies`, in place, until the returned
   * function is called: what `/metrics` shows. One set of tallies per server at a time. Counting costs a request
   * two array writes and, per input, two clock readings; `wharf:request` messages are made only for subscribers.
   *
   * @example
   * ```ts
   * const tallies = new RequestTallies([0.001, 0.01, 0.1]);
   * const stop = server.countRequests(tallies);
   * // ... later
   * stop();
   * ```
   */
  countRequests(tallies: RequestTallies): () => void {
    return this.#dispatcher.timing.countInto(tallies);
  }

  /** Connections being served now. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Bytes read and written by every stream connection so far, open and closed: for metrics and dashboards. */
  trafficTotals(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.#closedBytesIn;
    let bytesOut = this.#closedBytesOut;
    for (const connection of this.#connections) {
      bytesIn += connection.socket.bytesRead ?? 0;
      bytesOut += connection.socket.bytesWritten ?? 0;
    }
    return { bytesIn, bytesOut };
  }

  /** A snapshot of every connection: for tests, metrics and debugging. */
  connections(): { id: number; peer: PeerInfo; pending: number; paused: boolean; bufferedOut: number }[] {
    return [...this.#connections].map((c) => ({
      id: c.id,
      peer: c.peer,
      pending: c.pending,
      paused: c.paused,
      bufferedOut: c.socket.writableLength,
    }));
  }

  /**
   * Registers the handler of a request type; `{ body: "stream" }` hands it a Readable body.
   *
   * @example
   * ```ts
   * server.handle("count", async (header, body: Readable) => {
   *   let bytes = 0;
   *   for await (const chunk of body) bytes += chunk.length;
   *   return { header: { bytes } };
   * }, { body: "stream" });
   * ```
   */
  handle(type: string, handler: Handler<any>, options?: HandlerOptions): this {
    this.#router.handle(type, handler, options);
    return this;
  }

  /** Listens on TCP (or TLS with `options.tls`); resolves the URL it listens on. Port 0 picks a free port. */
  async listenTcp(options: TcpListenOptions = {}): Promise<string> {
    const transport: Transport = options.tls ? "tls" : "tcp";
    if (options.tls && this.#proxy) throw new TypeError("options.proxyProtocol does not combine with a TLS listener: terminate TLS at the balancer");
    const server = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, allowHalfOpen: true })
      : createNetServer({ allowHalfOpen: true });
    const event = options.tls ? "secureConnection" : "connection";
    server.on(event, (socket: Socket) => (this.#proxy && transport === "tcp" ? this.#acceptProxied(socket) : this.#accept(socket, transport)));
    if (options.tls) server.on("tlsClientError", (err) => this.logger.debug({ err }, "tls handshake failed"));
    const host = options.host ?? "127.0.0.1";
    await this.#listen(server, { host, port: options.port ?? 0 });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const url = formatEndpoint(transport, host, port);
    this.#listeners.push({ server, url });
    return url;
  }

  /** Listens on a Unix socket at `path` (a stale socket file there is replaced); resolves its URL. */
  async listenUnix(path: string): Promise<string> {
    const server = createNetServer({ allowHalfOpen: true });
    server.on("connection", (socket: Socket) => this.#accept(socket, "unix", path));
    try {
      unlinkSync(path);
    } catch {
      // nothing stale to remove
    }
    await this.#listen(server, { path });
    const url = `unix://${path}`;
    this.#listeners.push({ server, url, path });
    return url;
  }

  /** Listens on UDP; resolves the URL. Port 0 picks a free port. */
  async listenUdp(options: UdpListenOptions = {}): Promise<string> {
    const host = options.host ?? "127.0.0.1";
    const socket = createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
    const bound = once(socket, "listening");
    socket.bind(options.port ?? 0, host);
    await bound;
    this.#udp.push(new UdpEndpoint(socket, this.#host));
    const url = formatEndpoint("udp", host, socket.address().port);
    this.#udpUrls.push(url);
    this.#startSweep();
    return url;
  }

  /**
   * Graceful shutdown: stops accepting, answers new requests with `E_SHUTTING_DOWN`, lets in-flight requests
   * finish (over every transport, UDP included), and closes every connection once it is settled. After `timeout`
   * ms (default 10,000) whatever is left is destroyed. Idempotent: later calls wait for the same shutdown.
   */
  async close(options: { timeout?: number } = {}): Promise<void> {
    const timeout = options.timeout ?? 10_000;
    if (!this.#dispatcher.draining) {
      this.#dispatcher.drain();
      for (const { server } of this.#listeners) server.close();
      for (const connection of this.#connections) connection.drain();
      for (const socket of this.#handshaking) socket.destroy();
    }
    const settled = Promise.all([this.#whenSettled(), this.#dispatcher.whenIdle()]);
    const timer = setTimeout(() => this.destroy(), timeout);
    timer.unref();
    // destroy() (the timeout's, or the caller's) ends the wait even while a handler ignores its signal.
    await Promise.race([settled, this.#stopped]);
    clearTimeout(timer);
    this.#shutDownRest();
  }

  /** Closes everything at once; handlers' signals fire. */
  destroy(): void {
    this.#dispatcher.drain();
    for (const { server } of this.#listeners) server.close();
    const reason = new WharfError(ErrorCode.SHUTTING_DOWN, "the server was destroyed");
    for (const connection of this.#connections) connection.destroy(reason);
    for (const socket of this.#handshaking) socket.destroy();
    for (const endpoint of this.#udp) endpoint.abortAll(reason);
    this.#shutDownRest();
  }

  #connectionClosed(connection: StreamConnection): void {
    if (!this.#connections.delete(connection)) return;
    this.#closedBytesIn += connection.socket.bytesRead ?? 0;
    this.#closedBytesOut += connection.socket.bytesWritten ?? 0;
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ event: "close", id: connection.id, transport: connection.peer.transport });
    if (this.#connections.size === 0 && this.#idle.length > 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  #whenSettled(): Promise<void> {
    if (this.#connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #shutDownRest(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const endpoint of this.#udp) endpoint.close();
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#markStopped();
  }

  /** A TCP connection from a balancer: its PROXY header first, then served as the client it names. */
  #acceptProxied(socket: Socket): void {
    const proxy = this.#proxy!;
    this.#handshaking.add(socket);
    readProxyHeader(socket, proxy.trusted, { timeout: this.headerTimeout, maxV2Size: proxy.maxV2Size }, (result) => {
      this.#handshaking.delete(socket);
      if (!result.ok) {
        this.logger.warn({ peer: socket.remoteAddress, reason: result.reason }, "connection refused: PROXY header");
        socket.on("error", () => {});
        const error = proxyHeaderError(result.reason);
        if (!socket.destroyed) socket.end(errorFrame(null, { code: error.code, message: error.message }, true));
        setTimeout(() => socket.destroy(), 2_000).unref();
        return;
      }
      // A LOCAL header (the balancer's own check) or a client without an IP keeps the socket's address.
      const source = result.header.source;
      const peer: PeerInfo | undefined = source && { transport: "tcp", address: source.address, port: source.port, family: source.family };
      this.#accept(socket, "tcp", undefined, peer);
      // readProxyHeader() left the socket paused: what came after the header goes first, then the flow resumes.
      if (result.rest.length > 0 && !socket.destroyed) socket.unshift(result.rest);
      socket.resume();
    });
  }

  #accept(socket: Socket, transport: Transport, path?: string, proxied?: PeerInfo): void {
    const peer: PeerInfo =
      proxied ??
      (transport === "unix"
        ? { transport, address: path ?? "" }
        : { transport, address: socket.remoteAddress ?? "", port: socket.remotePort, family: socket.remoteFamily });
    this.serveStream(socket, peer);
  }

  /**
   * Serves a connection that arrived by other means than this server's own listeners: a WebSocket of the HTTP
   * gateway (seen as a byte stream), a socket accepted elsewhere. Every rule of a listener's connections applies
   * (limits, logins, backpressure, `maxConnections`, graceful close). Returns false when the connection was
   * refused: the server is draining (the stream is destroyed) or full (it gets `E_TOO_MANY_CONNECTIONS`).
   *
   * @example
   * ```ts
   * netServer.on("connection", (socket) => server.serveStream(socket, { transport: "tcp", address: socket.remoteAddress ?? "" }));
   * ```
   */
  serveStream(socket: StreamSocket, peer: PeerInfo): boolean {
    if (this.#dispatcher.draining) {
      socket.destroy();
      return false;
    }
    if (this.#connections.size >= this.maxConnections) {
      socket.on("error", () => {});
      socket.end(errorFrame(null, { code: ErrorCode.TOO_MANY_CONNECTIONS, message: `the server serves at most ${this.maxConnections} connections` }, true));
      setTimeout(() => socket.destroy(), 2_000).unref();
      return false;
    }
    this.#now = Date.now();
    const connection = new StreamConnection(this.#nextConnectionId++, socket, peer, this.#host);
    this.#connections.add(connection);
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ event: "open", id: connection.id, transport: peer.transport });
    this.#startSweep();
    return true;
  }

  #startSweep(): void {
    if (this.#sweep !== null || this.#closed) return;
    const timeouts = [this.idleTimeout, this.headerTimeout].filter((t) => t > 0);
    const interval = Math.max(50, Math.min(1_000, ...timeouts.map((t) => t / 4)));
    this.#sweep = setInterval(() => {
      this.#now = Date.now();
      for (const connection of this.#connections) {
        connection.checkTimeouts(this.#now, this.idleTimeout, this.headerTimeout);
      }
    }, interval);
    this.#sweep.unref();
  }

  #listen(server: NetServer, options: { host?: string; port?: number; path?: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(options, () => {
        server.off("error", reject);
        server.on("error", (err) => this.logger.error({ err }, "listener error"));
        resolve();
      });
    });
  }
}
