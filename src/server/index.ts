/**
 * `wharf/server`: socketserver-style servers over TCP, TLS, Unix sockets and UDP. See docs/architecture.md.
 *
 * @module
 */
export { RequestContext, type ConnectionChannel, type DatagramSender, type PeerInfo, type Transport } from "./context.js";
export { Router, type Handler, type HandlerOptions, type ReplyInit, type StreamedBody } from "./router.js";
export { Session, SessionKey } from "./session.js";
export { Server, type ServerOptions, type ServerState, type TcpListenOptions, type UdpListenOptions } from "./server.js";
export { RequestTallies, type TypeTally } from "./request-tallies.js";
export { requestChannel, type RequestEndMessage } from "./request-timing.js";
export { ProxyHeaderReader, PROXY_V2_SIGNATURE, type ProxyHeader, type ProxyHeaderReaderOptions, type ProxyReadResult } from "./proxy-protocol.js";
export { TrustedProxies, type ProxyProtocolOptions } from "./proxy-accept.js";
