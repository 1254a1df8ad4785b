import { ErrorCode } from "../errors/codes.js";
import { WharfError } from "../errors/wharf-error.js";
import type { CodecLimits } from "./codec.js";
import { BrowserConnection } from "./connection.js";
import type { WebSocketConstructor, WebSocketLike } from "./types.js";

/** The WebSocket subprotocol of wharf: one frame per binary message. */
export const WHARF_SUBPROTOCOL = "wharf";

/** Options of {@link connect}. */
export interface BrowserConnectOptions extends CodecLimits {
  /** The WebSocket class: default `globalThis.WebSocket` (a browser); in Node pass the `ws` package's. */
  WebSocket?: WebSocketConstructor;
  /** Milliseconds to wait for the WebSocket to open. Default 10,000. */
  timeout?: number;
  /** Aborting gives up connecting with `E_CANCELLED`. */
  signal?: AbortSignal;
}

/**
 * The WebSocket URL of a wharf server: `ws://` and `wss://` URLs as they are; `http://` and `https://` (say the
 * page's own origin) become `ws://` and `wss://`, with the path `/ws` when they name none. A relative URL is
 * resolved against the page's location, when there is one.
 *
 * @example
 * ```ts
 * toWebSocketUrl("http://127.0.0.1:9080");   // "ws://127.0.0.1:9080/ws"
 * toWebSocketUrl("wss://example.org/ws");    // "wss://example.org/ws"
 * ```
 */
export function toWebSocketUrl(url: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  let parsed: URL;
  try {
    parsed = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  else if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(`connect() takes ws://, wss://, http:// or https:// URLs, got ${parsed.protocol}`);
  }
  if (parsed.pathname === "" || parsed.pathname === "/") parsed.pathname = "/ws";
  return parsed.toString();
}

/**
 * Opens a WebSocket to a wharf server's gateway (subprotocol `wharf`) and resolves a {@link BrowserConnection}.
 * Fails with a WharfError: `E_CONNECT` when the server cannot be reached or refuses the upgrade (a foreign
 * Origin gets 403), `E_TIMEOUT`, or `E_CANCELLED` on abort.
 *
 * @example
 * ```ts
 * import { connect, login } from "wharf/browser";
 * const conn = await connect(location.origin);           // ws://same-host/ws
 * await login(conn, { user: "alice", password });
 * // in Node: import WebSocket from "ws"; await connect("ws://127.0.0.1:9080/ws", { WebSocket });
 * ```
 */
export function connect(url: string, options: BrowserConnectOptions = {}): Promise<BrowserConnection> {
  let wsUrl: string;
  try {
    wsUrl = toWebSocketUrl(url);
  } catch (err) {
    return Promise.reject(err);
  }
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof Ctor !== "function") return Promise.reject(new TypeError("no WebSocket here: pass options.WebSocket (in Node, the ws package's)"));
  const timeout = options.timeout ?? 10_000;
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(new WharfError(ErrorCode.CANCELLED, `connecting to ${wsUrl} was aborted`, { cause: signal.reason }));
  return new Promise<BrowserConnection>((resolve, reject) => {
    let ws: WebSocketLike;
    try {
      ws = new Ctor(wsUrl, WHARF_SUBPROTOCOL);
    } catch (err) {
      reject(new WharfError(ErrorCode.CONNECT, `cannot connect to ${wsUrl}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    ws.binaryType = "arraybuffer";
    let settled = false;
    const finish = (error: WharfError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error === null) {
        resolve(new BrowserConnection(ws, { label: wsUrl, maxHeaderSize: options.maxHeaderSize, maxBodySize: options.maxBodySize }));
        return;
      }
      try {
        ws.close();
      } catch {
        // not open yet: the constructor's socket goes with it
      }
      reject(error);
    };
    const onAbort = (): void => finish(new WharfError(ErrorCode.CANCELLED, `connecting to ${wsUrl} was aborted`, { cause: signal?.reason }));
    const timer = setTimeout(() => finish(new WharfError(ErrorCode.TIMEOUT, `cannot connect to ${wsUrl}: no answer within ${timeout} ms`)), timeout);
    signal?.addEventListener("abort", onAbort, { once: true });
    ws.addEventListener("open", () => {
      if (ws.protocol !== WHARF_SUBPROTOCOL) {
        finish(new WharfError(ErrorCode.CONNECT, `${wsUrl} is not a wharf gateway (it did not agree to the "${WHARF_SUBPROTOCOL}" subprotocol)`));
      } else finish(null);
    });
    // A browser tells nothing more about a failed upgrade (a 403 for a foreign Origin looks like any other).
    ws.addEventListener("error", () => finish(new WharfError(ErrorCode.CONNECT, `cannot connect to ${wsUrl}: the WebSocket could not open (server down, or the upgrade refused)`)));
    ws.addEventListener("close", (event) => finish(new WharfError(ErrorCode.CONNECT, `cannot connect to ${wsUrl}: closed before it opened (${event.code})`)));
  });
}
