import { parseEndpoint } from "../wire/index.js";
import type { Reply } from "./connection.js";
import { DatagramClient } from "./datagram-client.js";

/** Options of {@link udpRequest}. */
export interface UdpRequestOptions {
  /** Milliseconds to wait for each attempt's reply. Default 1,000. */
  timeout?: number;
  /** Further attempts after the first goes unanswered. Default 2. */
  retries?: number;
  signal?: AbortSignal;
  /**
   * Pad the request's header with JSON whitespace to at least this many bytes, for a reply up to 3x as large
   * (docs/protocol.md §5). Default 0; a request answered `E_USE_STREAM` is asked once more, padded, anyway.
   */
  minRequestSize?: number;
}

/**
 * Sends one request as one datagram to a `udp://` URL and resolves its reply, sending it again (same id) when no
 * reply comes within `timeout`. Fails with `E_TIMEOUT` after the last attempt. Datagrams that are not the
 * awaited reply are ignored. The request must be idempotent: the server may see it more than once. Each call
 * uses a socket (a source port) of its own; for many requests, or a server that knows its clients by their port,
 * keep one {@link DatagramClient}.
 *
 * @example
 * ```ts
 * import { udpRequest } from "wharf/client";
 * const { body } = await udpRequest("udp://127.0.0.1:9000", "ping", {}, Buffer.from("hi"), { timeout: 500, retries: 3 });
 * ```
 */
export async function udpRequest(
  url: string | URL,
  type: string,
  header: Record<string, unknown> = {},
  body?: Uint8Array,
  options: UdpRequestOptions = {},
): Promise<Reply> {
  const endpoint = parseEndpoint(url);
  if (endpoint.transport !== "udp") throw new TypeError(`udpRequest() takes a udp:// URL, got ${String(url)}`);
  const { timeout, retries, minRequestSize, signal } = options;
  const client = await DatagramClient.open(url, { timeout, retries, minRequestSize });
  try {
    return await client.request(type, header, body, { signal });
  } finally {
    await client.close();
  }
}
