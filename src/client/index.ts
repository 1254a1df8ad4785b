/**
 * `wharf/client`: connections that pipeline requests over TCP, TLS and Unix sockets, a persistent UDP client and
 * a one-shot UDP request helper.
 *
 * @module
 */
export { connect, type ConnectOptions } from "./connect.js";
export { Connection, type ConnectionOptions, type Reply, type RequestBody, type RequestOptions } from "./connection.js";
export { udpRequest, type UdpRequestOptions } from "./udp.js";
export { DatagramClient, type DatagramClientOptions, type DatagramRequestOptions } from "./datagram-client.js";
export { MAX_USEFUL_PADDING, padDatagram } from "./pad-datagram.js";
export { ErrorCode, WharfError } from "../wire/index.js";
