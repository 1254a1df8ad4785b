import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import type { PeerInfo, Server } from "../server/index.js";
import { readProxyHeader, TrustedProxies, type ProxyProtocolOptions } from "../server/proxy-accept.js";
import { LENGTH_PREFIX_SIZE, formatEndpoint } from "../wire/index.js";
import { allowedOrigin } from "./origin.js";
import { WsFrameSocket } from "./ws-frame-socket.js";

/** The WebSocket subprotocol a client must offer: the frames of docs/protocol.md, one per binary message. */
export const WS_SUBPROTOCOL = "wharf";

/** The path of the WebSocket endpoint. */
export const WS_PATH = "/ws";

/** Serves one HTTP request of a route. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of an {@link HttpGateway}. */
export interface HttpGatewayOptions {
  logger: Logger;
  /**
   * Origins (`https://app.example.com`) whose pages may open the WebSocket, besides the gateway's own. An upgrade
   * with any other `Origin` is refused with 403 (cross-site WebSocket hijacking). Upgrades without an `Origin`
   * (programs, not browsers) are let in: a browser always sends one.
   */
  origins?: string[];
  /** PEM certificate and key: HTTPS and WSS instead of HTTP and WS, on the same port. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Behind a load balancer (issue 14): connections must come from `trusted` addresses and open with a PROXY
   * header; its client address is the WebSocket peer's. Others are closed without an answer.
   */
  proxyProtocol?: ProxyProtocolOptions;
}

/**
 * The B/S side of a wharf server: one HTTP(S) port that upgrades `GET /ws` to a WebSocket carrying the very same
 * frames as TCP (served by the same server: every request type, limit and login), and serves plain HTTP routes
 * beside it (the web app's assets, download links, health and metrics).
 *
 * @example
 * ```ts
 * import { Server } from "wharf/server";
 * import { HttpGateway } from "wharf/gateway";
 * import { pino } from "pino";
 * const server = new Server();
 * const gateway = new HttpGateway(server, { logger: pino({ level: "silent" }) });
 * gateway.route("/healthz", (_req, res) => res.end("ok\n"));
 * const url = await gateway.listen({ host: "127.0.0.1", port: 0 }); // "http://127.0.0.1:PORT"; WebSocket at /ws
 * // ... later
 * await gateway.close();
 * await server.close();
 * ```
 */
export class HttpGateway {
  readonly #server: Server;
  readonly #logger: Logger;
  readonly #origins: Set<string>;
  readonly #tls: boolean;
  readonly #http: HttpServer;
  readonly #wss: WebSocketServer;
  #routes: { path: string; prefix: boolean; handler: RouteHandler }[] = [];
  #url: string | null = null;
  #proxy: { trusted: TrustedProxies; maxV2Size?: number } | null;
  /** With proxyProtocol: the TCP listener that reads the PROXY header, then hands the socket to #http. */
  #front: NetServer | null = null;
  /** The client each proxied socket relays, by socket (a LOCAL header, a health check, has none). */
  #proxiedPeers = new WeakMap<Socket, PeerInfo>();

  constructor(server: Server, options: HttpGatewayOptions) {
    this.#server = server;
    this.#logger = options.logger.child({ gateway: "http" });
    this.#origins = new Set((options.origins ?? []).map((origin) => origin.replace(/\/+$/, "").toLowerCase()));
    this.#tls = options.tls !== undefined;
    const proxy = options.proxyProtocol;
    this.#proxy = proxy ? { trusted: new TrustedProxies(proxy.trusted), maxV2Size: proxy.maxV2Size } : null;
    this.#http = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }) : createHttpServer();
    // Slow or idle HTTP clients cannot hold sockets open for ever (slowloris).
    this.#http.headersTimeout = 15_000;
    this.#http.requestTimeout = 60_000;
    this.#http.keepAliveTimeout = 5_000;
    this.#wss = new WebSocketServer({
      noServer: true,
      // One message is one frame: its largest is a buffered body at the server's limits.
      maxPayload: LENGTH_PREFIX_SIZE + server.limits.maxHeaderSize + server.limits.maxBodySize,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
    this.#http.on("request", (req, res) => this.#onRequest(req, res));
    this.#http.on("upgrade", (req, socket, head) => this.#onUpgrade(req, socket, head));
    this.#http.on("clientError", (err, socket) => {
      this.#logger.debug({ err }, "bad HTTP request");
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      else socket.destroy();
    });
  }

  /** The URL listened on (`http://HOST:PORT` or `https://...`), once listening. */
  get url(): string | null {
    return this.#url;
  }

  /**
   * Serves HTTP requests whose path is `path` (exact), or starts with it when it ends in "/" ("/dl/"). The
   * longest match wins; "/" catches every path nothing else does. Unmatched paths get 404.
   */
  route(path: string, handler: RouteHandler): this {
    if (!path.startsWith("/")) throw new TypeError(`a route path must start with "/", got ${JSON.stringify(path)}`);
    this.#routes.push({ path, prefix: path.endsWith("/"), handler });
    this.#routes.sort((a, b) => b.path.length - a.path.length);
    return this;
  }

  /** Listens; resolves the URL (port 0 picks a free port). */
  async listen(options: { host?: string; port?: number } = {}): Promise<string> {
    const host = options.host ?? "127.0.0.1";
    const listener = this.#proxy === null ? this.#http : (this.#front = this.#proxiedListener(this.#proxy));
    listener.listen({ host, port: options.port ?? 9080 });
    await Promise.race([once(listener, "listening"), once(listener, "error").then(([err]) => Promise.reject(err))]);
    listener.on("error", (err) => this.#logger.error({ err }, "HTTP listener error"));
    const address = listener.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    this.#url = formatEndpoint("tcp", host, port).replace(/^tcp:/, this.#tls ? "https:" : "http:");
    return this.#url;
  }

  /**
   * Stops listening and ends idle keep-alive sockets. WebSocket connections belong to the server: its close()
   * drains them like any connection (call it too).
   */
  async close(): Promise<void> {
    const front = this.#front;
    if (front !== null) {
      this.#front = null;
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      // Sockets handed over never made #http listen: close() would fail, but idle keep-alives still end.
      this.#http.closeIdleConnections();
      await closed;
      return;
    }
    if (!this.#http.listening) return;
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#http.closeIdleConnections();
    await closed;
  }

  /** A TCP listener that reads each connection's PROXY header, then gives the socket to the HTTP server. */
  #proxiedListener(proxy: { trusted: TrustedProxies; maxV2Size?: number }): NetServer {
    return createNetServer((socket) => {
      readProxyHeader(socket, proxy.trusted, { timeout: 15_000, maxV2Size: proxy.maxV2Size }, (result) => {
        if (!result.ok) {
          this.#logger.warn({ peer: socket.remoteAddress, reason: result.reason }, "HTTP connection refused: PROXY header");
          socket.destroy();
          return;
        }
        const source = result.header.source;
        if (source) this.#proxiedPeers.set(socket, { transport: this.#tls ? "wss" : "ws", address: source.address, port: source.port, family: source.family });
        if (result.rest.length > 0) socket.unshift(result.rest);
        this.#http.emit("connection", socket);
        socket.resume();
      });
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = requestPath(req);
    const route = path === null ? undefined : this.#routes.find((r) => (r.prefix ? path.startsWith(r.path) : path === r.path));
    if (route === undefined) {
      if (path === WS_PATH) plain(res, 426, "upgrade to a WebSocket (subprotocol wharf) to speak wharf here\n", { Upgrade: "websocket" });
      else plain(res, 404, "not found\n");
      return;
    }
    try {
      route.handler(req, res);
    } catch (err) {
      this.#logger.error({ err, path }, "HTTP route failed");
      if (!res.headersSent) plain(res, 500, "internal error\n");
      else res.destroy();
    }
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", (err) => this.#logger.debug({ err }, "upgrade socket error"));
    if (requestPath(req) !== WS_PATH) return refuse(socket, 404, "not found");
    if (!allowedOrigin(req, this.#tls, this.#origins)) {
      this.#logger.info({ origin: req.headers.origin, peer: req.socket.remoteAddress }, "WebSocket from another origin refused");
      return refuse(socket, 403, "this origin may not open a WebSocket here (see wharf serve --http-origin)");
    }
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (!offered.includes(WS_SUBPROTOCOL)) return refuse(socket, 400, `offer the WebSocket subprotocol "${WS_SUBPROTOCOL}"`);
    if (this.#server.state !== "serving") return refuse(socket, 503, "the server is shutting down");
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, req));
  }

  #serve(ws: WebSocket, req: IncomingMessage): void {
    const tcp = req.socket as Socket;
    const peer: PeerInfo = this.#proxiedPeers.get(tcp) ?? { transport: this.#tls ? "wss" : "ws", address: tcp.remoteAddress ?? "", port: tcp.remotePort, family: tcp.remoteFamily };
    this.#server.serveStream(new WsFrameSocket(ws, this.#server.limits.maxHeaderSize), peer);
  }
}

/** The path of a request's URL, decoded; null when it cannot be parsed. */
function requestPath(req: IncomingMessage): string | null {
  try {
    return new URL(req.url ?? "/", "http://host").pathname;
  } catch {
    return null;
  }
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text), "X-Content-Type-Options": "nosniff", ...headers });
  res.end(text);
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const statusText = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" }[status] ?? "Error";
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
