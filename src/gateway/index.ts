/**
 * `wharf/gateway`: the B/S side of a server. One HTTP(S) port whose `GET /ws` is a WebSocket carrying wharf
 * frames (one per binary message), beside plain HTTP routes.
 *
 * @module
 */
export { HttpGateway, WS_PATH, WS_SUBPROTOCOL, type HttpGatewayOptions, type RouteHandler } from "./http-gateway.js";
export { WsFrameSocket, WS_CLOSE } from "./ws-frame-socket.js";
