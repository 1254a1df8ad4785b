import { ErrorCode, ProtocolError, quote, type WireErrorBody } from "./errors.js";

/** Any frame header: a JSON object. `size` is the body length in bytes (absent means 0). */
export interface FrameHeader {
  size?: number;
  [field: string]: unknown;
}

/** The header of a request: a `type` naming the handler and a client-chosen `id`. */
export interface RequestHeader extends FrameHeader {
  type: string;
  id: number;
}

/** The header of a reply: the request's `id`, `ok`, and on failure an `error`. */
export interface ReplyHeader extends FrameHeader {
  id: number | null;
  ok: boolean;
  error?: WireErrorBody;
  /** More reply frames follow for this id (a streamed reply). */
  more?: boolean;
}

/** True for a non-negative safe integer: the only valid `size` and `id`. */
export function isWireInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** The declared body size of a header, or a ProtocolError with `E_BAD_SIZE`. */
export function headerSize(header: FrameHeader): number {
  const size = header.size;
  if (size === undefined) return 0;
  if (!isWireInteger(size)) {
    const id = isWireInteger(header.id) ? header.id : null;
    throw new ProtocolError(ErrorCode.BAD_SIZE, `size must be a non-negative safe integer, got ${quote(size)}`, id);
  }
  return size;
}

/**
 * Checks that a decoded header is a valid request: `type` a non-empty string, `id` a non-negative safe integer.
 * Throws a ProtocolError with `E_BAD_HEADER` otherwise.
 *
 * @example
 * ```ts
 * assertRequestHeader({ type: "ping", id: 1 }); // ok
 * assertRequestHeader({ id: 1 });               // throws E_BAD_HEADER: type is missing
 * ```
 */
export function assertRequestHeader(header: FrameHeader): asserts header is RequestHeader {
  const id = isWireInteger(header.id) ? header.id : null;
  if (id === null) {
    throw new ProtocolError(ErrorCode.BAD_HEADER, "id must be a non-negative safe integer");
  }
  if (typeof header.type !== "string" || header.type.length === 0) {
    throw new ProtocolError(ErrorCode.BAD_HEADER, "type must be a non-empty string", id);
  }
}
