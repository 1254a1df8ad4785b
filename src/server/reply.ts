import type { Logger } from "pino";
import { ErrorCode, WharfError, encodeFrameParts, type ReplyHeader, type WireErrorBody } from "../wire/index.js";

export { quote } from "../errors/index.js";

/**
 * The longest error message a reply carries, in characters. Messages quote what clients sent (a type name, a
 * path, a method); a client must not be able to make its own error reply outgrow the header limit (a 30,000-quote
 * `type` doubles under JSON escaping), so every message is cut here whatever produced it.
 */
export const MAX_ERROR_MESSAGE = 512;

/** The largest error header with `data` (bytes); beyond it the data is left out. */
const MAX_ERROR_DATA = 16 * 1024;

/** Turns anything a handler threw into the `error` of a reply; unexpected errors are logged, not leaked. */
export function toWireError(err: unknown, logger: Logger, context: Record<string, unknown>): WireErrorBody {
  if (err instanceof WharfError) return err.toWire();
  if (err instanceof Error && err.name === "AbortError") {
    return { code: ErrorCode.CANCELLED, message: "the request was cancelled" };
  }
  logger.error({ err, ...context }, "handler failed");
  return { code: ErrorCode.INTERNAL, message: "internal error while handling the request (see the server log)" };
}

/**
 * The frame of a failed reply. `fatal` marks the last frame before the server closes the connection.
 *
 * Never throws and never exceeds a few KiB: the message is cut to {@link MAX_ERROR_MESSAGE} characters, and
 * `data` that cannot be encoded (too large, circular, a BigInt) is left out.
 */
export function errorFrame(id: number | null, error: WireErrorBody, fatal = false): Buffer {
  const code = typeof error.code === "string" && error.code.length <= 64 ? error.code : ErrorCode.INTERNAL;
  const message = boundedMessage(error.message);
  if (error.data !== undefined) {
    try {
      return encodeReplyError(id, { code, message, data: error.data }, fatal, MAX_ERROR_DATA);
    } catch {
      // data too large or not JSON: the code and message still go out
    }
  }
  return encodeReplyError(id, { code, message }, fatal, 64 * 1024);
}

function boundedMessage(message: unknown): string {
  const text = typeof message === "string" ? message : String(message);
  return text.length > MAX_ERROR_MESSAGE ? `${text.slice(0, MAX_ERROR_MESSAGE)}…` : text;
}

function encodeReplyError(id: number | null, error: WireErrorBody, fatal: boolean, maxHeaderSize: number): Buffer {
  const header: ReplyHeader = fatal ? { id, ok: false, fatal: true, error } : { id, ok: false, error };
  return encodeFrameParts(header, undefined, maxHeaderSize)[0];
}
