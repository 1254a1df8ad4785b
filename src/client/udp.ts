import { createSocket } from "node:dgram";
import { ErrorCode, ProtocolError, WharfError, decodeDatagram, encodeDatagram, parseEndpoint } from "../wire/index.js";
import type { Reply } from "./connection.js";

/** Options of {@link udpRequest}. */
export interface UdpRequestOptions {
  /** Milliseconds to wait for each attempt's reply. Default 1,000. */
  timeout?: number;
  /** Further attempts after the first goes unanswered. Default 2. */
  retries?: number;
  signal?: AbortSignal;
}

let nextId = 1;

/**
 * Sends one request as one datagram to a `udp://` URL and resolves its reply, sending it again (same id) when no
 * reply comes within `timeout`. Fails with `E_TIMEOUT` after the last attempt. Datagrams that are not the
 * awaited reply are ignored. The request must be idempotent: the server may see it more than once.
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
  const timeout = options.timeout ?? 1_000;
  const retries = options.retries ?? 2;
  if (!Number.isSafeInteger(retries) || retries < 0) throw new RangeError("options.retries must be a non-negative integer");
  const id = nextId++;
  const datagram = encodeDatagram({ ...header, type, id }, body);
  const socket = createSocket(endpoint.host.includes(":") ? "udp6" : "udp4");
  try {
    return await new Promise<Reply>((resolve, reject) => {
      let attempts = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: Error | null, reply?: Reply): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve(reply as Reply);
      };
      const onAbort = (): void => finish(new WharfError(ErrorCode.CANCELLED, "the request was aborted", { cause: options.signal?.reason }));
      const attempt = (): void => {
        if (attempts > retries) {
          finish(new WharfError(ErrorCode.TIMEOUT, `no reply from ${String(url)} after ${attempts} attempts of ${timeout} ms`));
          return;
        }
        attempts += 1;
        socket.send(datagram, endpoint.port, endpoint.host, (err) => {
          if (err) finish(new WharfError(ErrorCode.CONNECT, `cannot send to ${String(url)}: ${err.message}`, { cause: err }));
        });
        timer = setTimeout(attempt, timeout);
      };
      socket.on("message", (msg) => {
        let reply;
        try {
          reply = decodeDatagram(msg);
        } catch (err) {
          if (err instanceof ProtocolError) return; // not a frame: not our reply
          throw err;
        }
        if (reply.header.id !== id) return;
        if (reply.header.ok !== true) {
          const error = reply.header.error as { code?: unknown; message?: unknown } | undefined;
          finish(new WharfError(typeof error?.code === "string" ? error.code : ErrorCode.PROTOCOL, typeof error?.message === "string" ? error.message : "the request failed"));
          return;
        }
        finish(null, { header: reply.header as Reply["header"], body: reply.body });
      });
      socket.on("error", (err) => finish(new WharfError(ErrorCode.CONNECT, `udp error: ${err.message}`, { cause: err })));
      if (options.signal?.aborted) onAbort();
      else {
        options.signal?.addEventListener("abort", onAbort, { once: true });
        attempt();
      }
    });
  } finally {
    socket.close();
  }
}
