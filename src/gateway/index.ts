/**
 * `wharf/gateway`: the B/S side of a server. One HTTP(S) port whose `GET /ws` is a WebSocket carrying wharf
 * frames (one per binary message), beside plain HTTP routes.
 *
 * @module
 */
export { HttpGateway, WS_PATH, WS_SUBPROTOCOL, type HttpGatewayOptions, type RouteHandler } from "./http-gateway.js";
export { WsFrameSocket, WS_CLOSE } from "./ws-frame-socket.js";
export { DownloadLinks, DEFAULT_LINK_TTL, LINK_KEY_FILE, MAX_LINK_TTL, type LinkCheck, type LinkGrant, type LinkRefusal } from "./download-links.js";
export { downloadRoute, type DownloadRouteOptions } from "./download-route.js";
export { staticRoute, WEB_APP_CSP, type StaticRouteOptions } from "./static-route.js";
export { registerHealthRoutes, Readiness, type HealthRoutesOptions, type RouteTarget } from "./health-routes.js";
export { WharfMetrics, type MetricsSource } from "./metrics.js";
export { serveClusterMetrics, workerMetricsText } from "./cluster-metrics.js";
