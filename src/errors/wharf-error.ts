import { ErrorCode } from "./codes.js";

/** The `error` member of a failed reply header. */
export interface WireErrorBody {
  code: string;
  message: string;
  data?: unknown;
}

/**
 * The one base error of wharf: every failure that travels on the wire, or that a caller may want to tell apart,
 * is a {@link WharfError} with a stable `code` (listed in docs/errors.md and in `ERROR_CODES`). The errors of
 * `wharf/sync` and `wharf/pool` (`WharfSyncError`, `WharfPoolError`) and the wire's `ProtocolError` are
 * subclasses, so `err instanceof WharfError` holds for all of them and a handler that throws one replies with its
 * code. `name` is the name of the class that was constructed.
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
    this.name = new.target.name;
    this.code = code;
    this.data = options?.data;
  }

  /** The `{ code, message, data? }` object that an error reply carries. */
  toWire(): WireErrorBody {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  /**
   * The error a client raises for the `error` member of a failed reply: its code, message and data, whatever
   * shape the peer sent. A missing or non-string `code` becomes `E_PROTOCOL`; a missing message becomes
   * `fallback`. Every client of wharf (stream connections, datagram clients) decodes errors here.
   *
   * @example
   * ```ts
   * const err = WharfError.fromWire({ code: "E_BUSY", message: "try later" }, "the request failed");
   * err.code; // "E_BUSY"
   * ```
   */
  static fromWire(error: unknown, fallback: string): WharfError {
    const body = typeof error === "object" && error !== null ? (error as Partial<Record<keyof WireErrorBody, unknown>>) : {};
    const code = typeof body.code === "string" ? body.code : ErrorCode.PROTOCOL;
    const message = typeof body.message === "string" ? body.message : fallback;
    return new WharfError(code, message, body.data === undefined ? undefined : { data: body.data });
  }
}
