import { connect as netConnect, type Socket } from "node:net";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { ErrorCode, WharfError, parseEndpoint, type FrameLimits } from "../wire/index.js";
import { Connection } from "./connection.js";

/** Options of {@link connect}. */
export interface ConnectOptions extends FrameLimits {
  /** Milliseconds to wait for the connection (and TLS handshake). Default 10,000. */
  timeout?: number;
  signal?: AbortSignal;
  /** TLS options for tls:// URLs: `ca` to trust a private certificate, `rejectUnauthorized`, `servername`. */
  tls?: Pick<TlsOptions, "ca" | "rejectUnauthorized" | "servername" | "cert" | "key">;
}

/**
 * Connects to a wharf server at a `tcp://`, `tls://` or `unix://` URL.
 * Fails with a WharfError `E_CONNECT` when the server cannot be reached, or `E_TIMEOUT`.
 *
 * @example
 * ```ts
 * import { connect } from "wharf/client";
 * const conn = await connect("tcp://127.0.0.1:9000", { timeout: 3_000 });
 * const reply = await conn.request("ping", {}, Buffer.from("hi"));
 * console.log(reply.body.toString()); // hi
 * await conn.close();
 * ```
 */
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<Connection> {
  const endpoint = parseEndpoint(url);
  if (endpoint.transport === "udp") throw new TypeError("connect() takes tcp://, tls:// or unix:// URLs; use udpRequest() for udp://");
  const label = String(url);
  const timeout = options.timeout ?? 10_000;
  // node:tls (and OpenSSL with it) loads only for tls:// URLs: 10-20 ms of every CLI verb's start-up otherwise.
  const tlsConnect = endpoint.transport === "tls" ? (await import("node:tls")).connect : null;
  const socket: Socket =
    endpoint.transport === "unix"
      ? netConnect({ path: endpoint.path, allowHalfOpen: true })
      : endpoint.transport === "tls"
        ? tlsConnect!({ host: endpoint.host, port: endpoint.port, servername: isIp(endpoint.host) ? undefined : endpoint.host, ...options.tls })
        : netConnect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true });
  const ready = endpoint.transport === "tls" ? "secureConnect" : "connect";
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off(ready, onReady);
      socket.off("error", onError);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(new WharfError(ErrorCode.CONNECT, `cannot connect to ${label}: ${err.message}`, { cause: err }));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(new WharfError(ErrorCode.CANCELLED, `connecting to ${label} was aborted`, { cause: options.signal?.reason }));
    };
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new WharfError(ErrorCode.TIMEOUT, `cannot connect to ${label}: no answer within ${timeout} ms`));
    }, timeout);
    socket.once(ready, onReady);
    socket.once("error", onError);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
  });
  return new Connection(socket, { ...options, label });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
