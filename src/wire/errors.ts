/**
 * The one error class of wharf's runtime: every failure that travels on the wire, or that a caller may want to
 * tell apart, is a {@link WharfError} with a stable `code` (listed in docs/errors.md).
 *
 * @example
 * ```ts
 * import { WharfError } from "wharf/wire";
 * try {
 *   await conn.request("nope");
 * } catch (err) {
 *   if (err instanceof WharfError && err.code === "E_UNKNOWN_TYPE") console.log("server lacks that type");
 * }
 * ```
 */
export class WharfError extends Error {
  /** Stable machine-readable code, e.g. `E_FRAME_TOO_LARGE`. */
  readonly code: string;
  /** Optional structured detail that travels with the error on the wire. */
  readonly data: unknown;

  constructor(code: string, message: string, options?: { cause?: unknown; data?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WharfError";
    this.code = code;
    this.data = options?.data;
  }

  /** The `{ code, message, data? }` object that an error reply carries. */
  toWire(): WireErrorBody {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** The `error` member of a failed reply header. */
export interface WireErrorBody {
  code: string;
  message: string;
  data?: unknown;
}

/**
 * A frame that breaks the protocol. The decoder raises it; a server answers it with an error frame and closes
 * the connection. `id` is the request id when the header could be read far enough to know it.
 */
export class ProtocolError extends WharfError {
  readonly id: number | null;

  constructor(code: string, message: string, id: number | null = null) {
    super(code, message);
    this.name = "ProtocolError";
    this.id = id;
  }
}

/** Every error code of the wire, server and client layers. Services add their own (see docs/errors.md). */
export const ErrorCode = {
  /** A header length or body size above the receiver's limit. */
  FRAME_TOO_LARGE: "E_FRAME_TOO_LARGE",
  /** The header is not UTF-8 JSON, not an object, or lacks a valid `type` or `id`. */
  BAD_HEADER: "E_BAD_HEADER",
  /** `size` is not a non-negative safe integer, or does not match a datagram's length. */
  BAD_SIZE: "E_BAD_SIZE",
  /** A datagram or stream ended in the middle of a frame. */
  TRUNCATED: "E_TRUNCATED",
  /** No handler is registered for the request's `type`. */
  UNKNOWN_TYPE: "E_UNKNOWN_TYPE",
  /** A handler failed with an error that is not a WharfError. */
  INTERNAL: "E_INTERNAL",
  /** The server is shutting down and takes no new requests. */
  SHUTTING_DOWN: "E_SHUTTING_DOWN",
  /** The server already serves its maximum number of connections. */
  TOO_MANY_CONNECTIONS: "E_TOO_MANY_CONNECTIONS",
  /** The connection was idle for longer than the server allows. */
  IDLE_TIMEOUT: "E_IDLE_TIMEOUT",
  /** The client gave up waiting for a reply. */
  TIMEOUT: "E_TIMEOUT",
  /** The caller aborted the request through its AbortSignal. */
  CANCELLED: "E_CANCELLED",
  /** The connection closed before the reply arrived. */
  CONNECTION_CLOSED: "E_CONNECTION_CLOSED",
  /** The client could not connect to the server. */
  CONNECT: "E_CONNECT",
  /** The peer sent a reply that breaks the protocol. */
  PROTOCOL: "E_PROTOCOL",
} as const;
