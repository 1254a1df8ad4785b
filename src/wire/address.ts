/** The transports a wharf URL can name. */
export type UrlTransport = "tcp" | "tls" | "unix" | "udp";

/** A parsed wharf URL. */
export type Endpoint =
  | { transport: "tcp" | "tls" | "udp"; host: string; port: number }
  | { transport: "unix"; path: string };

const DEFAULT_PORT = 9000;

/**
 * Parses `tcp://host:port`, `tls://host:port`, `udp://host:port` (IPv6 hosts in brackets; the port defaults to
 * 9000) or `unix:///path/to/socket`. Throws a TypeError naming what is wrong.
 *
 * @example
 * ```ts
 * parseEndpoint("tcp://[::1]:9000"); // { transport: "tcp", host: "::1", port: 9000 }
 * parseEndpoint("unix:///tmp/wharf.sock"); // { transport: "unix", path: "/tmp/wharf.sock" }
 * ```
 */
export function parseEndpoint(url: string | URL): Endpoint {
  const text = String(url);
  const match = /^([a-z]+):\/\/(.*)$/.exec(text);
  if (match === null) throw new TypeError(`not a wharf URL: ${JSON.stringify(text)} (expected tcp://, tls://, udp:// or unix://)`);
  const [, scheme, rest] = match;
  if (scheme === "unix") {
    if (rest.length === 0) throw new TypeError(`unix URL has no socket path: ${JSON.stringify(text)}`);
    return { transport: "unix", path: decodeURIComponent(rest) };
  }
  if (scheme !== "tcp" && scheme !== "tls" && scheme !== "udp") {
    throw new TypeError(`unsupported scheme ${JSON.stringify(scheme)} in ${JSON.stringify(text)} (expected tcp, tls, udp or unix)`);
  }
  const parsed = new URL(`http://${rest}`);
  if (parsed.pathname !== "/" || parsed.search !== "" || parsed.hash !== "" || parsed.username !== "") {
    throw new TypeError(`a ${scheme} URL is only host and port: ${JSON.stringify(text)}`);
  }
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (host.length === 0) throw new TypeError(`URL has no host: ${JSON.stringify(text)}`);
  const port = parsed.port === "" ? DEFAULT_PORT : Number(parsed.port);
  return { transport: scheme, host, port };
}

/** Formats a host and port as a wharf URL, bracketing IPv6 addresses. */
export function formatEndpoint(transport: "tcp" | "tls" | "udp", host: string, port: number): string {
  return `${transport}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
