import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import {
  ErrorCode,
  ProtocolError,
  WharfError,
  decodeDatagram,
  encodeDatagram,
  parseEndpoint,
  type FrameHeader,
  type ReplyHeader,
} from "../wire/index.js";
import type { Reply } from "./connection.js";
import { MAX_USEFUL_PADDING, padDatagram } from "./pad-datagram.js";

/** Options of {@link DatagramClient.open}: the defaults of every request. */
export interface DatagramClientOptions {
  /** Milliseconds to wait for each attempt's reply. Default 1,000. */
  timeout?: number;
  /** Further attempts (same id) after the first goes unanswered. Default 2. */
  retries?: number;
  /**
   * Pad each request's header with JSON whitespace so that its datagram is at least this many bytes (capped at
   * the datagram limit): a server sends at most 3x the request's size back. Default 0 (no padding).
   */
  minRequestSize?: number;
  /**
   * When the server answers `E_USE_STREAM` (the reply would be over 3x the request), ask once more with the same
   * id, padded so that any reply fits. Default true. The reply then costs one more round trip; a request padded
   * for its reply in the first place does not.
   */
  padOnUseStream?: boolean;
}

/** Options of one {@link DatagramClient.request}; unset fields take the client's. */
export interface DatagramRequestOptions {
  timeout?: number;
  retries?: number;
  minRequestSize?: number;
  /** Aborting fails the request with `E_CANCELLED` (the server may still have handled it). */
  signal?: AbortSignal;
  /**
   * Called synchronously when the datagram that settles the request arrives, before the promise settles: for
   * callers that timestamp arrivals (the time client), since a promise's continuation runs a little later.
   */
  onArrival?: () => void;
}

interface Pending {
  resolve(reply: Reply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  onArrival: (() => void) | undefined;
  /** Asks again with the same id, padded for any reply; false when that was done already (or is not wanted). */
  upgrade: (() => boolean) | undefined;
}

// Ids are unique in the process, not only per socket: a port the system hands out again must not meet a server
// that still remembers an earlier request of the same id from it.
let nextId = 1;

function checkOptions(options: DatagramClientOptions | DatagramRequestOptions): void {
  const { timeout, retries, minRequestSize } = options;
  if (timeout !== undefined && !(timeout > 0 && timeout <= 2 ** 31 - 1)) throw new RangeError("options.timeout must be a positive number of milliseconds");
  if (retries !== undefined && !(Number.isSafeInteger(retries) && retries >= 0)) throw new RangeError("options.retries must be a non-negative integer");
  if (minRequestSize !== undefined && !(Number.isSafeInteger(minRequestSize) && minRequestSize >= 0)) {
    throw new RangeError("options.minRequestSize must be a non-negative integer");
  }
}

/**
 * A UDP client on one socket for its whole life: each request goes out as one datagram with an id of its own, is
 * sent again with the same id when no reply comes within `timeout`, and settles with its reply, with the server's
 * error (decoded by `WharfError.fromWire`), with `E_TIMEOUT` after the last attempt, with `E_CANCELLED` when its
 * signal aborts, or with `E_CONNECTION_CLOSED` on `close()`. Many requests may be in flight at once; replies are
 * matched by id, and a late repeat of a reply already taken is ignored.
 *
 * Because requests are retried, they must be idempotent, or made so by the service (chat's `seq`). Frames that
 * carry no id (what a server pushes, like chat messages) are emitted as `"event"` (header, body). Socket errors
 * fail the requests in flight with `E_CONNECT` and are emitted as `"error"` only when someone listens: the socket
 * stays usable, as a UDP error concerns one datagram.
 *
 * Over UDP a server answers at most 3x the bytes of the request (docs/protocol.md §5): a request that expects a
 * larger reply pads itself with `minRequestSize`, or the client pads and asks again when told `E_USE_STREAM`.
 *
 * @example
 * ```ts
 * import { DatagramClient } from "wharf/client";
 * const client = await DatagramClient.open("udp://127.0.0.1:9000", { timeout: 500, retries: 3 });
 * const { body } = await client.request("ping", {}, Buffer.from("hi"));
 * const { header } = await client.request("time", { t1: Date.now() * 1000 }, undefined, { minRequestSize: 64 });
 * await client.close();
 * ```
 */
export class DatagramClient extends EventEmitter {
  /** The server's `udp://` URL. */
  readonly url: string;
  #socket: Socket;
  #host: string;
  #port: number;
  #defaults: Required<Omit<DatagramClientOptions, "padOnUseStream">>;
  #padOnUseStream: boolean;
  #pending = new Map<number, Pending>();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(url: string, socket: Socket, host: string, port: number, options: DatagramClientOptions) {
    super();
    this.url = url;
    this.#socket = socket;
    this.#host = host;
    this.#port = port;
    this.#defaults = { timeout: options.timeout ?? 1_000, retries: options.retries ?? 2, minRequestSize: options.minRequestSize ?? 0 };
    this.#padOnUseStream = options.padOnUseStream ?? true;
    socket.on("message", (msg) => this.#onDatagram(msg));
    socket.on("error", (err) => this.#onSocketError(err));
  }

  /**
   * Opens a socket towards a `udp://` URL, bound to an ephemeral port of its own (the server answers, and a
   * service like chat knows its members, by that port). Rejects with a RangeError or TypeError for bad options
   * or a URL that is not `udp://`.
   */
  static async open(url: string | URL, options: DatagramClientOptions = {}): Promise<DatagramClient> {
    const endpoint = parseEndpoint(url);
    if (endpoint.transport !== "udp") throw new TypeError(`DatagramClient takes a udp:// URL, got ${String(url)}`);
    checkOptions(options);
    const socket = createSocket(endpoint.host.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => reject(new WharfError(ErrorCode.CONNECT, `cannot open a udp socket: ${err.message}`, { cause: err }));
      socket.once("error", fail);
      socket.bind(0, () => {
        socket.off("error", fail);
        resolve();
      });
    });
    return new DatagramClient(String(url), socket, endpoint.host, endpoint.port, options);
  }

  /** The local port of the socket. */
  get port(): number {
    return this.#socket.address().port;
  }

  /** Requests waiting for their reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends one request (`type`, header fields, optional body) and resolves its reply; see the class for how it
   * settles. The header's `type`, `id` and `size` are set here.
   */
  request(type: string, header: Record<string, unknown> = {}, body?: Uint8Array, options: DatagramRequestOptions = {}): Promise<Reply> {
    if (this.#closed) return Promise.reject(new WharfError(ErrorCode.CONNECTION_CLOSED, "the datagram client is closed"));
    try {
      checkOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeout = options.timeout ?? this.#defaults.timeout;
    const retries = options.retries ?? this.#defaults.retries;
    const id = nextId++;
    let datagram: Buffer;
    try {
      datagram = padDatagram(encodeDatagram({ ...header, type, id } as FrameHeader, body), options.minRequestSize ?? this.#defaults.minRequestSize);
    } catch (err) {
      return Promise.reject(err); // E_FRAME_TOO_LARGE: the request does not fit in one datagram
    }
    const { signal } = options;
    return new Promise<Reply>((resolve, reject) => {
      let attempts = 0;
      const settle = (): void => {
        clearTimeout(pending.timer);
        this.#pending.delete(id);
        signal?.removeEventListener("abort", onAbort);
      };
      const pending: Pending = {
        resolve: (reply) => {
          settle();
          resolve(reply);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
        timer: undefined,
        onArrival: options.onArrival,
        upgrade: undefined,
      };
      const sendFailed = (err: Error): void => {
        if (this.#pending.get(id) === pending) pending.reject(new WharfError(ErrorCode.CONNECT, `cannot send to ${this.url}: ${err.message}`, { cause: err }));
      };
      const send = (): void => {
        try {
          this.#socket.send(datagram, this.#port, this.#host, (err) => {
            if (err) sendFailed(err);
          });
        } catch (err) {
          sendFailed(err as Error); // a socket that stopped running: nothing more can be sent
        }
      };
      const attempt = (): void => {
        if (attempts > retries) {
          pending.reject(new WharfError(ErrorCode.TIMEOUT, `no reply to ${type} from ${this.url} after ${attempts} attempts of ${timeout} ms`));
          return;
        }
        attempts += 1;
        send();
        if (this.#pending.get(id) === pending) pending.timer = setTimeout(attempt, timeout); // unless send failed at once
      };
      if (this.#padOnUseStream && datagram.length < MAX_USEFUL_PADDING) {
        pending.upgrade = () => {
          pending.upgrade = undefined;
          datagram = padDatagram(datagram, MAX_USEFUL_PADDING);
          clearTimeout(pending.timer);
          attempts = 0;
          attempt();
          return true;
        };
      }
      const onAbort = (): void => pending.reject(new WharfError(ErrorCode.CANCELLED, "the request was aborted", { cause: signal?.reason }));
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, pending);
      attempt();
    });
  }

  /** Fails every request in flight with `E_CONNECTION_CLOSED` and closes the socket. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const pending of [...this.#pending.values()]) {
      pending.reject(new WharfError(ErrorCode.CONNECTION_CLOSED, "the datagram client closed"));
    }
    this.#closing = new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    return this.#closing;
  }

  #onDatagram(msg: Buffer): void {
    let frame;
    try {
      frame = decodeDatagram(msg);
    } catch (err) {
      if (err instanceof ProtocolError) return; // not a frame: nothing of ours
      throw err;
    }
    const { header, body } = frame;
    if (typeof header.id !== "number") {
      this.emit("event", header, body);
      return;
    }
    const pending = this.#pending.get(header.id);
    if (pending === undefined) return; // a repeat of a reply already taken, or a request given up
    if (header.ok === true) {
      pending.onArrival?.();
      pending.resolve({ header: header as ReplyHeader, body });
      return;
    }
    const error = WharfError.fromWire(header.error, "the request failed");
    if (error.code === ErrorCode.USE_STREAM && pending.upgrade?.()) return;
    pending.onArrival?.();
    pending.reject(error);
  }

  #onSocketError(err: Error): void {
    for (const pending of [...this.#pending.values()]) {
      pending.reject(new WharfError(ErrorCode.CONNECT, `udp error: ${err.message}`, { cause: err }));
    }
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }
}
