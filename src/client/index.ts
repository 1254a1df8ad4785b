/**
 * `wharf/client`: connections that pipeline requests over TCP, TLS and Unix sockets, and a UDP request helper.
 *
 * @module
 */
export { connect, type ConnectOptions } from "./connect.js";
export { Connection, type ConnectionOptions, type Reply, type RequestBody, type RequestOptions } from "./connection.js";
export { udpRequest, type UdpRequestOptions } from "./udp.js";
export { ErrorCode, WharfError } from "../wire/index.js";
