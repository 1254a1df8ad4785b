import type { Logger } from "pino";
import { ErrorCode, WharfError, encodeFrameParts, type ReplyHeader, type WireErrorBody } from "../wire/index.js";

/** Turns anything a handler threw into the `error` of a reply; unexpected errors are logged, not leaked. */
export function toWireError(err: unknown, logger: Logger, context: Record<string, unknown>): WireErrorBody {
  if (err instanceof WharfError) return err.toWire();
  if (err instanceof Error && err.name === "AbortError") {
    return { code: ErrorCode.CANCELLED, message: "the request was cancelled" };
  }
  logger.error({ err, ...context }, "handler failed");
  return { code: ErrorCode.INTERNAL, message: "internal error while handling the request (see the server log)" };
}

/** The frame of a failed reply. `fatal` marks the last frame before the server closes the connection. */
export function errorFrame(id: number | null, error: WireErrorBody, fatal = false): Buffer {
  const header: ReplyHeader = fatal ? { id, ok: false, fatal: true, error } : { id, ok: false, error };
  return encodeFrameParts(header)[0];
}
